package dev.llmpool.llm;

import dev.llmpool.Origin;
import org.jspecify.annotations.Nullable;

/**
 * 529 (Anthropic {@code overloaded_error}): the service as a whole is short of capacity, not your
 * account. Retried with backoff by default.
 */
public class OverloadedException extends ApiStatusException {
  private static final long serialVersionUID = 1L;

  /** Creates the exception; see {@link ApiStatusException#of(Origin, ApiError)}. */
  public OverloadedException(
      @Nullable Origin origin, ApiError error, boolean requestMayHaveBeenProcessed) {
    super(origin, error, requestMayHaveBeenProcessed);
  }
}
