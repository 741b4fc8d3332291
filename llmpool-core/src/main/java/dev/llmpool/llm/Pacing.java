package dev.llmpool.llm;

import java.time.Duration;
import java.util.Objects;

/**
 * Client-side pacing by the provider's rate-limit headers: when the last response said that the
 * requests or tokens left in the window are (nearly) used up, a new call waits for the window's
 * reset instead of being sent to earn a 429. Off by default ({@link #OFF}); {@link #ON} turns it on
 * with the defaults; build others with {@link #builder()}.
 *
 * <p>Between two responses the client counts the calls it sent against the last {@code remaining
 * requests}, so a burst of concurrent calls does not all slip through on one stale header. A wait
 * never exceeds {@link #maxWait()} (nor the call's {@code timeouts.total}): when the reset is
 * further away, the call is sent at once and the server decides. Pacing only ever delays a call; it
 * never fails one. Servers that send no rate-limit headers (vLLM, Ollama) are never paced.
 */
public final class Pacing {
  /** No pacing. */
  public static final Pacing OFF = new Pacing(false, 0, 0, Duration.ofSeconds(30));

  /** Pacing with the defaults: wait when no request or no token is left, for at most 30 s. */
  public static final Pacing ON = builder().build();

  private final boolean enabled;
  private final long minRemainingRequests;
  private final long minRemainingTokens;
  private final Duration maxWait;

  private Pacing(
      boolean enabled, long minRemainingRequests, long minRemainingTokens, Duration maxWait) {
    this.enabled = enabled;
    this.minRemainingRequests = minRemainingRequests;
    this.minRemainingTokens = minRemainingTokens;
    this.maxWait = maxWait;
  }

  /** A builder for enabled pacing, with the defaults. */
  public static Builder builder() {
    return new Builder();
  }

  /** A builder holding this object's values (enabled). */
  public Builder toBuilder() {
    return new Builder()
        .minRemainingRequests(minRemainingRequests)
        .minRemainingTokens(minRemainingTokens)
        .maxWait(maxWait);
  }

  /** Whether calls are paced at all. */
  public boolean enabled() {
    return enabled;
  }

  /** A call waits when at most this many requests are left in the window. Default 0. */
  public long minRemainingRequests() {
    return minRemainingRequests;
  }

  /** A call waits when at most this many tokens are left in the window. Default 0. */
  public long minRemainingTokens() {
    return minRemainingTokens;
  }

  /** The longest a call waits for a reset before it is sent anyway. Default 30 s. */
  public Duration maxWait() {
    return maxWait;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Pacing p
        && enabled == p.enabled
        && minRemainingRequests == p.minRemainingRequests
        && minRemainingTokens == p.minRemainingTokens
        && maxWait.equals(p.maxWait);
  }

  @Override
  public int hashCode() {
    return Objects.hash(enabled, minRemainingRequests, minRemainingTokens, maxWait);
  }

  @Override
  public String toString() {
    return enabled
        ? "Pacing{minRemainingRequests="
            + minRemainingRequests
            + ", minRemainingTokens="
            + minRemainingTokens
            + ", maxWait="
            + maxWait
            + "}"
        : "Pacing.OFF";
  }

  /** Builds enabled {@link Pacing}; values are checked in {@link #build()}. Not thread-safe. */
  public static final class Builder {
    private long minRemainingRequests;
    private long minRemainingTokens;
    private Duration maxWait = Duration.ofSeconds(30);

    private Builder() {}

    /**
     * Wait when at most this many requests are left (0: only when none is left; raise it to keep a
     * reserve for other clients of the same key). Default 0.
     */
    public Builder minRemainingRequests(long n) {
      this.minRemainingRequests = n;
      return this;
    }

    /**
     * Wait when at most this many tokens are left; set it near a call's typical size (prompt plus
     * max tokens) to avoid token-limit 429s. Default 0.
     */
    public Builder minRemainingTokens(long n) {
      this.minRemainingTokens = n;
      return this;
    }

    /** The longest a call waits for a reset before it is sent anyway. Default 30 s. */
    public Builder maxWait(Duration d) {
      this.maxWait = Objects.requireNonNull(d, "maxWait");
      return this;
    }

    /**
     * Checks the values and builds.
     *
     * @throws IllegalArgumentException naming the field when a value is negative
     */
    public Pacing build() {
      if (minRemainingRequests < 0) {
        throw new IllegalArgumentException(
            "minRemainingRequests must be >= 0, got " + minRemainingRequests);
      }
      if (minRemainingTokens < 0) {
        throw new IllegalArgumentException(
            "minRemainingTokens must be >= 0, got " + minRemainingTokens);
      }
      if (maxWait.isNegative() || maxWait.isZero()) {
        throw new IllegalArgumentException("maxWait must be positive, got " + maxWait);
      }
      return new Pacing(true, minRemainingRequests, minRemainingTokens, maxWait);
    }
  }
}
