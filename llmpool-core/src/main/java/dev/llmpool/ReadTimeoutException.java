package dev.llmpool;

import java.time.Duration;
import org.jspecify.annotations.Nullable;

/**
 * No byte of the response arrived for longer than {@code timeouts.read} (for a stream: between two
 * chunks). The server may have processed the request.
 */
public class ReadTimeoutException extends LlmTimeoutException {
  private static final long serialVersionUID = 1L;

  /** Creates the exception; {@code detail} must hold no secret. */
  public ReadTimeoutException(
      @Nullable Origin origin,
      String detail,
      Duration limit,
      boolean requestMayHaveBeenProcessed,
      @Nullable Throwable cause) {
    super(Phase.READ, origin, detail, limit, requestMayHaveBeenProcessed, cause);
  }
}
