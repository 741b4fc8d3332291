package dev.llmpool;

import org.jspecify.annotations.Nullable;

/**
 * No TCP connection could be opened to any address of the host: refused, unreachable or reset
 * during connect (phase {@link Phase#CONNECT}). The request was not sent.
 */
public class ConnectFailedException extends LlmPoolException {
  private static final long serialVersionUID = 1L;

  /** Creates the exception; {@code detail} must hold no secret. */
  public ConnectFailedException(
      @Nullable Origin origin,
      String detail,
      boolean requestMayHaveBeenProcessed,
      @Nullable Throwable cause) {
    super(Phase.CONNECT, origin, detail, requestMayHaveBeenProcessed, cause);
  }
}
