package dev.llmpool.testkit.internal;

import java.math.BigDecimal;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Duration formats the mock server reads and writes. */
public final class Durations {
  private static final Pattern SIMPLE = Pattern.compile("(\\d{1,9})(ms|s|m|h)");

  /**
   * Parses a strict duration: digits then one unit, {@code ms}, {@code s}, {@code m} or {@code h}
   * ({@code 200ms}, {@code 5s}, {@code 1m}).
   *
   * @throws IllegalArgumentException naming the value when it is not of that form
   */
  public static Duration parse(String text) {
    Matcher m = SIMPLE.matcher(text.trim());
    if (!m.matches()) {
      throw new IllegalArgumentException(
          "not a duration: '" + text + "' (expected digits and a unit: 200ms, 5s, 1m, 1h)");
    }
    long n = Long.parseLong(m.group(1));
    return switch (m.group(2)) {
      case "ms" -> Duration.ofMillis(n);
      case "s" -> Duration.ofSeconds(n);
      case "m" -> Duration.ofMinutes(n);
      default -> Duration.ofHours(n);
    };
  }

  /**
   * Formats a duration as OpenAI's rate-limit reset headers do (Go's duration syntax): {@code 12ms}
   * below a second, else hours, minutes and seconds with up to three decimals, such as {@code 1s},
   * {@code 8.64s}, {@code 6m0s}, {@code 1h0m0s}.
   */
  public static String goFormat(Duration d) {
    if (d.isNegative() || d.isZero()) {
      return "0s";
    }
    long millis = d.toMillis();
    if (millis < 1000) {
      return millis + "ms";
    }
    long hours = millis / 3_600_000;
    long minutes = (millis / 60_000) % 60;
    BigDecimal seconds = BigDecimal.valueOf(millis % 60_000).movePointLeft(3).stripTrailingZeros();
    String s = seconds.signum() == 0 ? "0" : seconds.toPlainString();
    StringBuilder out = new StringBuilder();
    if (hours > 0) {
      out.append(hours).append('h');
    }
    if (hours > 0 || minutes > 0) {
      out.append(minutes).append('m');
    }
    return out.append(s).append('s').toString();
  }

  private Durations() {}
}
