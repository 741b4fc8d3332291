package dev.llmpool;

import java.time.Duration;
import org.jspecify.annotations.Nullable;

/** The whole call, retries and waits included, took longer than {@code timeouts.total}. */
public class TotalTimeoutException extends LlmTimeoutException {
  private static final long serialVersionUID = 1L;

  /** Creates the exception; {@code detail} must hold no secret. */
  public TotalTimeoutException(
      @Nullable Origin origin,
      String detail,
      Duration limit,
      boolean requestMayHaveBeenProcessed,
      @Nullable Throwable cause) {
    super(Phase.TOTAL, origin, detail, limit, requestMayHaveBeenProcessed, cause);
  }
}
