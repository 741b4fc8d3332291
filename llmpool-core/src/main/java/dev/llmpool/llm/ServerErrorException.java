package dev.llmpool.llm;

import dev.llmpool.Origin;
import org.jspecify.annotations.Nullable;

/**
 * A 5xx other than 529: the server or a gateway in front of it failed. 500, 502, 503 and 504 are
 * retried by default.
 */
public class ServerErrorException extends ApiStatusException {
  private static final long serialVersionUID = 1L;

  /** Creates the exception; see {@link ApiStatusException#of(Origin, ApiError)}. */
  public ServerErrorException(
      @Nullable Origin origin, ApiError error, boolean requestMayHaveBeenProcessed) {
    super(origin, error, requestMayHaveBeenProcessed);
  }
}
