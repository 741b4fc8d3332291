package dev.llmpool.llm.internal;

import dev.llmpool.LlmPoolException;
import dev.llmpool.Phase;
import dev.llmpool.llm.ApiStatusException;
import dev.llmpool.llm.RetryPolicy;
import java.time.Duration;
import java.util.function.DoubleSupplier;
import org.jspecify.annotations.Nullable;

/**
 * Decides whether a failed attempt is tried again and after how long, by a {@link RetryPolicy}: a
 * pure function of the failure and the call's history (no clock, no sleeping). Thread-safe when its
 * random source is.
 */
public final class RetryDecider {
  /** The outcome of {@link #decide}. */
  public record Decision(boolean retry, long delayNanos, String reason) {
    static Decision no(String reason) {
      return new Decision(false, 0, reason);
    }
  }

  private final RetryPolicy policy;
  private final DoubleSupplier random;

  /**
   * @param random values in [0, 1) for the jitter; seeded in tests
   */
  public RetryDecider(RetryPolicy policy, DoubleSupplier random) {
    this.policy = policy;
    this.random = random;
  }

  /** The policy. */
  public RetryPolicy policy() {
    return policy;
  }

  /**
   * Whether to retry after {@code failure}.
   *
   * @param attemptsMade attempts made so far, the failed one included (1 after the first)
   * @param delivered whether any text, reasoning or tool call reached a stream listener
   * @param elapsedNanos time since the call started
   * @param totalNanos the call's {@code timeouts.total}
   * @param waitedNanos time already spent waiting between attempts
   */
  public Decision decide(
      Throwable failure,
      int attemptsMade,
      boolean delivered,
      long elapsedNanos,
      long totalNanos,
      long waitedNanos) {
    String reason = reason(failure);
    if (reason == null) {
      return Decision.no("not retryable");
    }
    if (delivered) {
      return Decision.no("the stream had already delivered output");
    }
    if (attemptsMade - 1 >= policy.maxRetries()) {
      return Decision.no("no retries left (maxRetries " + policy.maxRetries() + ")");
    }
    long delay;
    Duration server = failure instanceof ApiStatusException e ? e.retryAfter() : null;
    long maxDelay = policy.maxRetryDelay().toNanos();
    if (server != null && !server.isNegative() && !server.isZero()) {
      delay = server.toNanos();
      if (delay > maxDelay) {
        return Decision.no(
            "the server asked to wait "
                + server.toMillis()
                + " ms, more than maxRetryDelay "
                + policy.maxRetryDelay().toMillis()
                + " ms");
      }
    } else {
      delay = Math.min(backoffNanos(attemptsMade), maxDelay);
    }
    if (waitedNanos + delay > policy.maxTotalRetryDelay().toNanos()) {
      return Decision.no("the waits would exceed maxTotalRetryDelay");
    }
    if (elapsedNanos + delay >= totalNanos) {
      return Decision.no("the wait would run past timeouts.total");
    }
    return new Decision(true, delay, reason);
  }

  /** Exponential backoff before retry number {@code attemptsMade}, with jitter. */
  long backoffNanos(int attemptsMade) {
    long initial = policy.initialBackoff().toNanos();
    long max = policy.maxBackoff().toNanos();
    int shift = Math.min(Math.max(attemptsMade - 1, 0), 40);
    long base = initial > (max >> shift) ? max : Math.min(initial << shift, max);
    double r = random.getAsDouble();
    double factor = 1.0 - policy.jitter() * Math.min(Math.max(r, 0.0), 1.0);
    return (long) (base * factor);
  }

  /** Why {@code failure} may be retried, or null when it may not. */
  @Nullable String reason(Throwable failure) {
    if (failure instanceof ApiStatusException e) {
      Boolean header = e.error().inStream() ? null : shouldRetry(e);
      if (header != null) {
        return header ? "x-should-retry: true (status " + e.status() + ")" : null;
      }
      return switch (e.status()) {
        case 408, 409, 429, 500, 502, 503, 504, 529 ->
            e.error().inStream()
                ? "error event " + (e.errorType() == null ? "" : e.errorType())
                : "http " + e.status();
        default -> null;
      };
    }
    if (failure instanceof LlmPoolException e) {
      Phase phase = e.phase();
      boolean connection =
          phase == Phase.DNS
              || phase == Phase.CONNECT
              || phase == Phase.WRITE
              || phase == Phase.READ;
      if (connection && !e.requestMayHaveBeenProcessed()) {
        return phase.label() + " failure, request not sent";
      }
      boolean maybe = phase == Phase.WRITE || phase == Phase.READ || phase == Phase.PROTOCOL;
      if (maybe && e.requestMayHaveBeenProcessed() && policy.retryMaybeProcessed()) {
        return phase.label() + " failure (may have been processed; retryMaybeProcessed)";
      }
    }
    return null;
  }

  private static @Nullable Boolean shouldRetry(ApiStatusException e) {
    String v = e.error().headers().get("x-should-retry");
    return v == null
        ? null
        : HeaderValues.shouldRetry(name -> name.equals("x-should-retry") ? v : null);
  }
}
