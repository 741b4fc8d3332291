package dev.llmpool;

import org.jspecify.annotations.Nullable;

/**
 * The connection closed or was reset while the call was using it, in the {@link Phase#WRITE} or
 * {@link Phase#READ} phase. {@link #requestMayHaveBeenProcessed()} says whether re-sending would be
 * safe; llmpool re-sends on its own only when it is.
 */
public class ConnectionLostException extends LlmPoolException {
  private static final long serialVersionUID = 1L;

  /** Creates the exception; {@code phase} is {@link Phase#WRITE} or {@link Phase#READ}. */
  public ConnectionLostException(
      Phase phase,
      @Nullable Origin origin,
      String detail,
      boolean requestMayHaveBeenProcessed,
      @Nullable Throwable cause) {
    super(phase, origin, detail, requestMayHaveBeenProcessed, cause);
  }
}
