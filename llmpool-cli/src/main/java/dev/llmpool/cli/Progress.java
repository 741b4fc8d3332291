package dev.llmpool.cli;

import java.io.Console;
import java.io.IOException;
import java.io.PrintWriter;
import java.lang.reflect.Method;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import me.tongfei.progressbar.DelegatingProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import org.jline.terminal.Terminal;
import org.jline.terminal.TerminalBuilder;
import org.jspecify.annotations.Nullable;

/**
 * Live progress on stderr, drawn by me.tongfei:progressbar. On a terminal: an animated bar redrawn
 * in place. Otherwise (CI, a pipe, a file, {@code TERM=dumb}): the same bar as a plain line every
 * few seconds and once at the end, never a carriage return or an escape sequence. Or nothing, with
 * {@code --no-progress}. Thread-safe ({@link #step()} may be called from any thread).
 */
final class Progress implements AutoCloseable {

  /** How progress is shown. */
  enum Mode {
    /** An animated bar (stdin, stdout and stderr are a terminal). */
    BAR,
    /** A plain line every few seconds. */
    LINES,
    /** Nothing. */
    OFF
  }

  /** Lines mode prints at most this often. */
  static final int LINE_INTERVAL_MILLIS = 3_000;

  private static final Progress NONE = new Progress(null);

  private final @Nullable ProgressBar bar;

  private Progress(@Nullable ProgressBar bar) {
    this.bar = bar;
  }

  /** The mode for this process: off when asked, a bar on a terminal, lines otherwise. */
  static Mode detect(boolean off) {
    if (off) {
      return Mode.OFF;
    }
    return onTerminal() ? Mode.BAR : Mode.LINES;
  }

  /**
   * Starts showing the progress of {@code task} towards {@code max} units (-1: unknown).
   *
   * @param lines where {@link Mode#LINES} writes (the command's stderr)
   */
  static Progress start(Mode mode, PrintWriter lines, String task, long max, String unit) {
    ProgressBarBuilder b =
        new ProgressBarBuilder()
            .setTaskName(task)
            .setInitialMax(max)
            .setUnit(" " + unit, 1)
            .hideEta();
    switch (mode) {
      case BAR -> {
        b.setStyle(
                unicodeOk()
                    ? (System.getenv("NO_COLOR") != null
                        ? ProgressBarStyle.UNICODE_BLOCK
                        : ProgressBarStyle.COLORFUL_UNICODE_BLOCK)
                    : ProgressBarStyle.ASCII)
            .setUpdateIntervalMillis(100)
            // Asked once: without a width the library asks JLine at every redraw, which on JDK 17
            // forks `stty` ten times a second.
            .setMaxRenderedLength(Math.min(120, terminalWidth() - 6));
        return new Progress(b.build());
      }
      case LINES -> {
        // A fixed width: asking JLine for the terminal's would print a warning off a terminal.
        String[] last = {""}; // guarded by lines: the final redraw often repeats the last line
        b.setStyle(ProgressBarStyle.ASCII)
            .setUpdateIntervalMillis(LINE_INTERVAL_MILLIS)
            .setConsumer(
                new DelegatingProgressBarConsumer(
                    line -> {
                      String text = line.strip();
                      synchronized (lines) {
                        if (!text.equals(last[0])) {
                          last[0] = text;
                          lines.println(text);
                          lines.flush();
                        }
                      }
                    },
                    100));
        return new Progress(b.build());
      }
      default -> {
        return NONE;
      }
    }
  }

  void step() {
    if (bar != null) {
      bar.step();
    }
  }

  void stepTo(long n) {
    if (bar != null) {
      bar.stepTo(n);
    }
  }

  /** The text after the bar, e.g. {@code p50 51 ms, 10 connections}. */
  void message(String text) {
    if (bar != null) {
      bar.setExtraMessage(" " + text);
    }
  }

  /** Draws the bar a last time and stops redrawing it. */
  @Override
  public void close() {
    if (bar != null) {
      bar.close();
    }
  }

  /**
   * True when the user is looking at a terminal: {@link System#console()} exists (stdin and stdout
   * are a terminal) and, on JDK 22+, says it is one ({@code Console.isTerminal()}, which is false
   * when output is redirected), and {@code TERM} is not {@code dumb}.
   */
  @SuppressWarnings("SystemConsoleNull") // JDK 22+ is handled: Console.isTerminal() below
  static boolean onTerminal() {
    Console c = System.console();
    if (c == null || "dumb".equals(System.getenv("TERM"))) {
      return false;
    }
    try {
      Method isTerminal = Console.class.getMethod("isTerminal");
      return Boolean.TRUE.equals(isTerminal.invoke(c));
    } catch (NoSuchMethodException e) {
      return true; // JDK 17-21: a console exists only on a terminal
    } catch (ReflectiveOperationException | RuntimeException e) {
      return false;
    }
  }

  /** The terminal's width in columns, asked once; 80 when it cannot be told. */
  private static int terminalWidth() {
    try (Terminal t = TerminalBuilder.builder().dumb(true).build()) {
      int w = t.getWidth();
      return w >= 20 ? w : 80;
    } catch (IOException | RuntimeException e) {
      return 80;
    }
  }

  /** Whether stderr encodes Unicode (the bar's blocks); a C/POSIX locale gets ASCII. */
  @SuppressWarnings("SystemConsoleNull") // only a fallback for the charset
  private static boolean unicodeOk() {
    String enc = System.getProperty("stderr.encoding", System.getProperty("sun.stderr.encoding"));
    if (enc == null) {
      Console c = System.console();
      return c != null && StandardCharsets.UTF_8.equals(c.charset());
    }
    try {
      return StandardCharsets.UTF_8.equals(Charset.forName(enc));
    } catch (RuntimeException e) {
      return false;
    }
  }
}
