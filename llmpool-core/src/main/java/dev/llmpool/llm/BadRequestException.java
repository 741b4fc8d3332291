package dev.llmpool.llm;

import dev.llmpool.Origin;
import org.jspecify.annotations.Nullable;

/**
 * 400 or 422: the server refused the request as malformed or out of range; {@link
 * #providerMessage()} says why (a context that is too long, an unknown parameter). Not retried.
 */
public class BadRequestException extends ApiStatusException {
  private static final long serialVersionUID = 1L;

  /** Creates the exception; see {@link ApiStatusException#of(Origin, ApiError)}. */
  public BadRequestException(
      @Nullable Origin origin, ApiError error, boolean requestMayHaveBeenProcessed) {
    super(origin, error, requestMayHaveBeenProcessed);
  }
}
