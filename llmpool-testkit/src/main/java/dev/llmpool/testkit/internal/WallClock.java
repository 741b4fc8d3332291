package dev.llmpool.testkit.internal;

import java.time.Clock;

/** The one place the testkit reads the system's wall clock. */
public final class WallClock {
  private WallClock() {}

  /**
   * The system UTC clock: the mock server needs calendar time for the {@code created} field, the
   * {@code Date} header, RFC 3339 rate-limit resets and certificate validity. Tests can pass their
   * own {@link Clock} to the server's builder instead.
   */
  @SuppressForbidden(reason = "calendar time for response fields and certificate validity")
  public static Clock system() {
    return Clock.systemUTC();
  }
}
