package dev.llmpool.llm;

import java.time.Duration;
import java.util.Objects;

/**
 * When and how a chat call is tried again. Immutable; {@link #DEFAULT} is what the official OpenAI
 * and Anthropic SDKs do; build others with {@link #builder()}, vary with {@link #toBuilder()}.
 *
 * <p>A failed attempt is retried when all of these hold:
 *
 * <ul>
 *   <li>it failed with status 408, 409, 429, 500, 502, 503, 504 or 529, or with an {@code error}
 *       event of a matching type before any text was delivered, or with a connection failure that
 *       the HTTP layer marks as safe (the request provably did not reach the server); a response
 *       header {@code x-should-retry: true} or {@code false} overrides the status rule;
 *   <li>fewer than {@link #maxRetries()} retries were made;
 *   <li>no text, reasoning or tool call has been delivered to a stream listener;
 *   <li>the wait fits: not above {@link #maxRetryDelay()}, the waits together not above {@link
 *       #maxTotalRetryDelay()}, and the call's {@code timeouts.total} not run out by the end of the
 *       wait.
 * </ul>
 *
 * <p>The wait is what the server asked for ({@code retry-after-ms}, else {@code Retry-After} in
 * seconds or as an HTTP date) when it is positive; else exponential backoff: {@link
 * #initialBackoff()} doubled per retry, capped at {@link #maxBackoff()}, shortened by a random
 * jitter of up to {@link #jitter()} of itself so that many clients do not retry in step. A server
 * that asks for more than {@link #maxRetryDelay()} is not retried: the {@link RateLimitException}
 * carries its {@link ApiStatusException#retryAfter()} for the caller to decide.
 *
 * <p>LLM calls cost money, so a request that may have been processed (it was fully sent, then the
 * connection broke or a read timed out) is retried only with {@link #retryMaybeProcessed()} (off by
 * default). The HTTP status rule above is the SDKs' and applies regardless.
 */
public final class RetryPolicy {
  /** Two retries, 0.5 s doubling to 8 s, 25 % jitter, server waits up to 60 s, 2 min in all. */
  public static final RetryPolicy DEFAULT = builder().build();

  /** No retries. */
  public static final RetryPolicy NONE = builder().maxRetries(0).build();

  private final int maxRetries;
  private final Duration initialBackoff;
  private final Duration maxBackoff;
  private final double jitter;
  private final Duration maxRetryDelay;
  private final Duration maxTotalRetryDelay;
  private final boolean retryMaybeProcessed;

  private RetryPolicy(Builder b) {
    this.maxRetries = b.maxRetries;
    this.initialBackoff = b.initialBackoff;
    this.maxBackoff = b.maxBackoff;
    this.jitter = b.jitter;
    this.maxRetryDelay = b.maxRetryDelay;
    this.maxTotalRetryDelay = b.maxTotalRetryDelay;
    this.retryMaybeProcessed = b.retryMaybeProcessed;
  }

  /** A builder with the defaults. */
  public static Builder builder() {
    return new Builder();
  }

  /** A builder holding this policy's values. */
  public Builder toBuilder() {
    return new Builder()
        .maxRetries(maxRetries)
        .initialBackoff(initialBackoff)
        .maxBackoff(maxBackoff)
        .jitter(jitter)
        .maxRetryDelay(maxRetryDelay)
        .maxTotalRetryDelay(maxTotalRetryDelay)
        .retryMaybeProcessed(retryMaybeProcessed);
  }

  /** Retries after the first attempt, at most. Default 2. */
  public int maxRetries() {
    return maxRetries;
  }

  /** The backoff before the first retry. Default 500 ms. */
  public Duration initialBackoff() {
    return initialBackoff;
  }

  /** The longest backoff. Default 8 s. */
  public Duration maxBackoff() {
    return maxBackoff;
  }

  /** The largest share of a backoff that jitter takes off, 0 to 1. Default 0.25. */
  public double jitter() {
    return jitter;
  }

  /** The longest single wait, server-requested ones included. Default 60 s. */
  public Duration maxRetryDelay() {
    return maxRetryDelay;
  }

  /** The longest time spent waiting between attempts in one call, all waits together. 2 min. */
  public Duration maxTotalRetryDelay() {
    return maxTotalRetryDelay;
  }

  /** Whether a request that may have been processed is retried too. Default false. */
  public boolean retryMaybeProcessed() {
    return retryMaybeProcessed;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof RetryPolicy p
        && maxRetries == p.maxRetries
        && initialBackoff.equals(p.initialBackoff)
        && maxBackoff.equals(p.maxBackoff)
        && Double.compare(jitter, p.jitter) == 0
        && maxRetryDelay.equals(p.maxRetryDelay)
        && maxTotalRetryDelay.equals(p.maxTotalRetryDelay)
        && retryMaybeProcessed == p.retryMaybeProcessed;
  }

  @Override
  public int hashCode() {
    return Objects.hash(
        maxRetries,
        initialBackoff,
        maxBackoff,
        jitter,
        maxRetryDelay,
        maxTotalRetryDelay,
        retryMaybeProcessed);
  }

  @Override
  public String toString() {
    return "RetryPolicy{maxRetries="
        + maxRetries
        + ", initialBackoff="
        + initialBackoff
        + ", maxBackoff="
        + maxBackoff
        + ", jitter="
        + jitter
        + ", maxRetryDelay="
        + maxRetryDelay
        + ", maxTotalRetryDelay="
        + maxTotalRetryDelay
        + ", retryMaybeProcessed="
        + retryMaybeProcessed
        + "}";
  }

  /** Builds a {@link RetryPolicy}; values are checked in {@link #build()}. Not thread-safe. */
  public static final class Builder {
    private int maxRetries = 2;
    private Duration initialBackoff = Duration.ofMillis(500);
    private Duration maxBackoff = Duration.ofSeconds(8);
    private double jitter = 0.25;
    private Duration maxRetryDelay = Duration.ofSeconds(60);
    private Duration maxTotalRetryDelay = Duration.ofMinutes(2);
    private boolean retryMaybeProcessed;

    private Builder() {}

    /** Retries after the first attempt, at most; 0 turns retries off. Default 2. */
    public Builder maxRetries(int maxRetries) {
      this.maxRetries = maxRetries;
      return this;
    }

    /** The backoff before the first retry. Default 500 ms. */
    public Builder initialBackoff(Duration d) {
      this.initialBackoff = Objects.requireNonNull(d, "initialBackoff");
      return this;
    }

    /** The longest backoff. Default 8 s. */
    public Builder maxBackoff(Duration d) {
      this.maxBackoff = Objects.requireNonNull(d, "maxBackoff");
      return this;
    }

    /** The largest share of a backoff that jitter takes off, 0 (none) to 1. Default 0.25. */
    public Builder jitter(double jitter) {
      this.jitter = jitter;
      return this;
    }

    /** The longest single wait; a server asking for more is not retried. Default 60 s. */
    public Builder maxRetryDelay(Duration d) {
      this.maxRetryDelay = Objects.requireNonNull(d, "maxRetryDelay");
      return this;
    }

    /** The longest time spent waiting between attempts in one call. Default 2 min. */
    public Builder maxTotalRetryDelay(Duration d) {
      this.maxTotalRetryDelay = Objects.requireNonNull(d, "maxTotalRetryDelay");
      return this;
    }

    /**
     * Also retry a request that may have been processed (fully sent, then the connection broke or a
     * read timed out): the call may then run, and be billed, twice. Default false.
     */
    public Builder retryMaybeProcessed(boolean retry) {
      this.retryMaybeProcessed = retry;
      return this;
    }

    /**
     * Checks the values and builds.
     *
     * @throws IllegalArgumentException naming the field when a value is out of range
     */
    public RetryPolicy build() {
      if (maxRetries < 0 || maxRetries > 100) {
        throw new IllegalArgumentException("maxRetries must be 0..100, got " + maxRetries);
      }
      positive("initialBackoff", initialBackoff);
      positive("maxBackoff", maxBackoff);
      positive("maxRetryDelay", maxRetryDelay);
      positive("maxTotalRetryDelay", maxTotalRetryDelay);
      if (maxBackoff.compareTo(initialBackoff) < 0) {
        throw new IllegalArgumentException(
            "maxBackoff ("
                + maxBackoff
                + ") must not be below initialBackoff ("
                + initialBackoff
                + ")");
      }
      if (!(jitter >= 0 && jitter <= 1)) {
        throw new IllegalArgumentException("jitter must be 0..1, got " + jitter);
      }
      return new RetryPolicy(this);
    }

    private static void positive(String field, Duration d) {
      if (d.isZero() || d.isNegative()) {
        throw new IllegalArgumentException(field + " must be positive, got " + d);
      }
    }
  }
}
