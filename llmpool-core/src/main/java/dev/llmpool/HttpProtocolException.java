package dev.llmpool;

import org.jspecify.annotations.Nullable;

/**
 * The peer broke HTTP: a malformed status line or header, a bad HTTP/2 frame, a body longer or
 * shorter than declared (phase {@link Phase#PROTOCOL}).
 */
public class HttpProtocolException extends LlmPoolException {
  private static final long serialVersionUID = 1L;

  /** Creates the exception; {@code detail} must hold no secret. */
  public HttpProtocolException(
      @Nullable Origin origin,
      String detail,
      boolean requestMayHaveBeenProcessed,
      @Nullable Throwable cause) {
    super(Phase.PROTOCOL, origin, detail, requestMayHaveBeenProcessed, cause);
  }
}
