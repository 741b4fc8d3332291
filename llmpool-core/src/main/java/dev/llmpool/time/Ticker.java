package dev.llmpool.time;

/**
 * The one source of time in llmpool. Everything that measures a duration or checks a deadline (the
 * pool, its scheduler, the timeouts, the metrics) reads time through a {@code Ticker}, so that a
 * test can replace it with a {@link ManualTicker} and run without sleeping.
 *
 * <p>Implementations must be thread-safe.
 */
public interface Ticker {

  /**
   * Monotonic time in nanoseconds from an arbitrary origin; only differences between two readings
   * of the same ticker mean anything (like {@link System#nanoTime()}).
   */
  long nanoTime();

  /**
   * Wall-clock time in milliseconds since the epoch. Used only where a protocol speaks in calendar
   * time (an HTTP-date {@code Retry-After}, an RFC 3339 rate-limit reset), never to measure a
   * duration.
   */
  long currentTimeMillis();

  /** The system's clocks. */
  static Ticker system() {
    return SystemTicker.INSTANCE;
  }
}
