package dev.llmpool;

import org.jspecify.annotations.Nullable;

/**
 * The TLS handshake failed: an untrusted or mismatched certificate, no common protocol or cipher,
 * or the peer closed during the handshake (phase {@link Phase#TLS}). The request was not sent.
 */
public class TlsException extends LlmPoolException {
  private static final long serialVersionUID = 1L;

  /** Creates the exception; {@code detail} must hold no secret. */
  public TlsException(
      @Nullable Origin origin,
      String detail,
      boolean requestMayHaveBeenProcessed,
      @Nullable Throwable cause) {
    super(Phase.TLS, origin, detail, requestMayHaveBeenProcessed, cause);
  }
}
