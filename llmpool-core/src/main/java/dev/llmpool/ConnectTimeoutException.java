package dev.llmpool;

import java.time.Duration;
import org.jspecify.annotations.Nullable;

/**
 * Opening the TCP connection (or, for TLS, the connection and its handshake) took longer than
 * {@code timeouts.connect}. The request was not sent.
 */
public class ConnectTimeoutException extends LlmTimeoutException {
  private static final long serialVersionUID = 1L;

  /** Creates the exception; {@code detail} must hold no secret. */
  public ConnectTimeoutException(
      @Nullable Origin origin,
      String detail,
      Duration limit,
      boolean requestMayHaveBeenProcessed,
      @Nullable Throwable cause) {
    super(Phase.CONNECT, origin, detail, limit, requestMayHaveBeenProcessed, cause);
  }
}
