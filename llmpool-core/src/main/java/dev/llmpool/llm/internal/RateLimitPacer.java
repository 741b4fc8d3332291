package dev.llmpool.llm.internal;

import dev.llmpool.llm.Pacing;
import dev.llmpool.llm.RateLimits;
import java.time.Instant;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * Client-side pacing as pure logic: fed the rate limits of each response and told of each request
 * sent, it says how long a new call should wait for a window to reset. Time comes in as arguments
 * (wall-clock millis, the clock the resets are on), so tests drive it with literal times.
 *
 * <p>Thread-safe: shared by every call of a client (and of clients on the same key); guarded by
 * this object's monitor.
 */
public final class RateLimitPacer {
  private final Pacing pacing;

  // Guarded by this.
  private RateLimits last = RateLimits.NONE;
  private long sentSinceUpdate;

  /** A pacer with these settings. */
  public RateLimitPacer(Pacing pacing) {
    this.pacing = pacing;
  }

  /** The settings. */
  public Pacing pacing() {
    return pacing;
  }

  /** A response arrived with these limits (ignored when it carried none). */
  public synchronized void update(RateLimits limits) {
    if (!pacing.enabled() || limits.isEmpty()) {
      return;
    }
    last = limits;
    sentSinceUpdate = 0;
  }

  /** A request is being sent: it uses one of the requests the last response said were left. */
  public synchronized void onSend() {
    if (pacing.enabled()) {
      sentSinceUpdate++;
    }
  }

  /**
   * How long a new call should wait, in milliseconds: until the latest reset among the windows that
   * are used up, 0 when none is (or pacing is off). Not capped: the caller caps it at {@link
   * Pacing#maxWait()} and the call's deadline, and sends at once when the wait is longer.
   */
  public synchronized long delayMillis(long nowMillis) {
    if (!pacing.enabled()) {
      return 0;
    }
    long wait = 0;
    RateLimits.Window requests = last.requests();
    OptionalLong remaining = requests.remaining();
    if (remaining.isPresent()
        && remaining.getAsLong() - sentSinceUpdate <= pacing.minRemainingRequests()) {
      wait = Math.max(wait, until(requests.reset(), nowMillis));
    }
    for (RateLimits.Window w :
        new RateLimits.Window[] {last.tokens(), last.inputTokens(), last.outputTokens()}) {
      OptionalLong left = w.remaining();
      if (left.isPresent() && left.getAsLong() <= pacing.minRemainingTokens()) {
        wait = Math.max(wait, until(w.reset(), nowMillis));
      }
    }
    return wait;
  }

  private static long until(Optional<Instant> reset, long nowMillis) {
    return reset.map(r -> Math.max(0, r.toEpochMilli() - nowMillis)).orElse(0L);
  }

  @Override
  public synchronized String toString() {
    return "RateLimitPacer{"
        + pacing
        + ", requests="
        + last.requests()
        + ", sent="
        + sentSinceUpdate
        + "}";
  }
}
