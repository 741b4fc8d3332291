package dev.llmpool.llm;

import dev.llmpool.Origin;
import org.jspecify.annotations.Nullable;

/**
 * 429: the account hit a rate limit. Retried by default, after the wait the server asked for
 * ({@link #retryAfter()}) when it fits the retry policy's limits, else with backoff. When it still
 * fails, {@link #retryAfter()} and {@link #rateLimits()} say how long until the limit resets. Note
 * that a 429 also signals an exhausted monthly quota or spend limit ({@link #errorType()} or {@link
 * ApiError#code()} tell, e.g. {@code insufficient_quota}); waiting does not help there.
 */
public class RateLimitException extends ApiStatusException {
  private static final long serialVersionUID = 1L;

  /** Creates the exception; see {@link ApiStatusException#of(Origin, ApiError)}. */
  public RateLimitException(
      @Nullable Origin origin, ApiError error, boolean requestMayHaveBeenProcessed) {
    super(origin, error, requestMayHaveBeenProcessed);
  }
}
