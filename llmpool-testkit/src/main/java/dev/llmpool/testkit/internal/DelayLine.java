package dev.llmpool.testkit.internal;

import java.util.SplittableRandom;

/**
 * When each chunk travelling one direction of one proxied connection is released: a pure function
 * of the arrival times, so it is tested with literal times and no sockets.
 *
 * <p>A chunk arriving at {@code now} leaves at {@code max(now, notBefore) + oneWay + jitter}, where
 * jitter is drawn uniformly from {@code [0, maxJitter]} by a generator seeded per direction, and
 * never before the previous chunk: release times are non-decreasing, so bytes keep their order
 * whatever the jitter.
 *
 * <p>Not thread-safe: confined to the connection's event loop.
 */
public final class DelayLine {
  private final long oneWayNanos;
  private final long maxJitterNanos;
  private final long notBeforeNanos;
  private final SplittableRandom random;
  private long lastReleaseNanos = Long.MIN_VALUE;

  /**
   * @param oneWayNanos the fixed delay of every chunk (half the round trip)
   * @param maxJitterNanos the largest extra delay drawn per chunk, 0 for none
   * @param seed the jitter generator's seed
   * @param notBeforeNanos no chunk leaves before this time plus its delay ({@link Long#MIN_VALUE}
   *     for no such floor); the proxy sets it to accept time + RTT for the client's first bytes
   */
  public DelayLine(long oneWayNanos, long maxJitterNanos, long seed, long notBeforeNanos) {
    if (oneWayNanos < 0 || maxJitterNanos < 0) {
      throw new IllegalArgumentException("delays must not be negative");
    }
    this.oneWayNanos = oneWayNanos;
    this.maxJitterNanos = maxJitterNanos;
    this.notBeforeNanos = notBeforeNanos;
    this.random = new SplittableRandom(seed);
  }

  /** The time at which a chunk (or a FIN) arriving at {@code nowNanos} is to be forwarded. */
  public long releaseAt(long nowNanos) {
    long jitter = maxJitterNanos == 0 ? 0 : random.nextLong(maxJitterNanos + 1);
    long release = Math.max(nowNanos, notBeforeNanos) + oneWayNanos + jitter;
    if (release < lastReleaseNanos) {
      release = lastReleaseNanos;
    }
    lastReleaseNanos = release;
    return release;
  }
}
