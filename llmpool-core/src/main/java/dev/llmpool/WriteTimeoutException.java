package dev.llmpool;

import java.time.Duration;
import org.jspecify.annotations.Nullable;

/** Sending the request took longer than {@code timeouts.write}: the server stopped reading. */
public class WriteTimeoutException extends LlmTimeoutException {
  private static final long serialVersionUID = 1L;

  /** Creates the exception; {@code detail} must hold no secret. */
  public WriteTimeoutException(
      @Nullable Origin origin,
      String detail,
      Duration limit,
      boolean requestMayHaveBeenProcessed,
      @Nullable Throwable cause) {
    super(Phase.WRITE, origin, detail, limit, requestMayHaveBeenProcessed, cause);
  }
}
