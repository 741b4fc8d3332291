package dev.llmpool.time;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A {@link Ticker} that moves only when told to: for tests. Both clocks advance together. Usually
 * driven through a {@link ManualScheduler}, which also runs the tasks that fall due.
 *
 * <p>Thread-safe.
 */
public final class ManualTicker implements Ticker {
  private final AtomicLong nanos;
  private final long epochMillisAtZero;

  /** A ticker at nano time 0 and wall-clock time 2026-01-01T00:00:00Z. */
  public ManualTicker() {
    this(0L, 1_767_225_600_000L);
  }

  /** A ticker at the given nano time and wall-clock time (epoch millis) at nano time 0. */
  public ManualTicker(long startNanos, long epochMillisAtZero) {
    this.nanos = new AtomicLong(startNanos);
    this.epochMillisAtZero = epochMillisAtZero;
  }

  @Override
  public long nanoTime() {
    return nanos.get();
  }

  @Override
  public long currentTimeMillis() {
    return epochMillisAtZero + Math.floorDiv(nanos.get(), 1_000_000L);
  }

  /** Moves time forward; a negative duration is refused, as monotonic time never goes back. */
  public void advance(Duration duration) {
    advanceNanos(duration.toNanos());
  }

  /** Moves time forward by {@code delta} nanoseconds (not negative). */
  public void advanceNanos(long delta) {
    if (delta < 0) {
      throw new IllegalArgumentException("time cannot go back: delta=" + delta + "ns");
    }
    nanos.addAndGet(delta);
  }

  @Override
  public String toString() {
    return "ManualTicker[" + nanos.get() + "ns]";
  }
}
