package dev.llmpool.llm;

import dev.llmpool.Origin;
import org.jspecify.annotations.Nullable;

/**
 * 401: the API key is missing, wrong or revoked. Not retried: check the key (llmpool never prints
 * it).
 */
public class AuthenticationException extends ApiStatusException {
  private static final long serialVersionUID = 1L;

  /** Creates the exception; see {@link ApiStatusException#of(Origin, ApiError)}. */
  public AuthenticationException(
      @Nullable Origin origin, ApiError error, boolean requestMayHaveBeenProcessed) {
    super(origin, error, requestMayHaveBeenProcessed);
  }
}
