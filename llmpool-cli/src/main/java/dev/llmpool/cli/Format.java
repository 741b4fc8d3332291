package dev.llmpool.cli;

import java.util.Locale;
import org.jspecify.annotations.Nullable;

/** Number formatting for tables and JSON; locale-independent (a decimal point, always). */
final class Format {
  private Format() {}

  /** Rounded to 0.1, or null (JSON null) when not a number. */
  static @Nullable Double round1(double v) {
    if (Double.isNaN(v) || Double.isInfinite(v)) {
      return null;
    }
    return Math.round(v * 10) / 10.0;
  }

  /** Rounded to 0.001, or null when not a number. */
  static @Nullable Double round3(double v) {
    if (Double.isNaN(v) || Double.isInfinite(v)) {
      return null;
    }
    return Math.round(v * 1000) / 1000.0;
  }

  /** Milliseconds for a table cell: {@code 151.2}, {@code 1510}, or {@code -}. */
  static String ms(double v) {
    if (Double.isNaN(v)) {
      return "-";
    }
    return v >= 1000
        ? String.format(Locale.ROOT, "%.0f", v)
        : String.format(Locale.ROOT, "%.1f", v);
  }

  /** Milliseconds shown as seconds: {@code 3.05}, or {@code -}. */
  static String seconds(double ms) {
    if (Double.isNaN(ms)) {
      return "-";
    }
    return String.format(Locale.ROOT, "%.2f", ms / 1000);
  }

  /** A duration for a sentence: {@code 850 ms}, {@code 2.0 s}, {@code 3 min 5 s}. */
  static String duration(double ms) {
    if (ms < 1000) {
      return String.format(Locale.ROOT, "%.0f ms", ms);
    }
    if (ms < 60_000) {
      return String.format(Locale.ROOT, "%.1f s", ms / 1000);
    }
    long s = Math.round(ms / 1000);
    return String.format(Locale.ROOT, "%d min %d s", s / 60, s % 60);
  }

  /** Right-aligns {@code s} in {@code width} columns. */
  static String right(String s, int width) {
    return s.length() >= width ? s : " ".repeat(width - s.length()) + s;
  }

  /** Left-aligns {@code s} in {@code width} columns. */
  static String left(String s, int width) {
    return s.length() >= width ? s : s + " ".repeat(width - s.length());
  }
}
