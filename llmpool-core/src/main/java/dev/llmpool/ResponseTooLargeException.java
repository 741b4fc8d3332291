package dev.llmpool;

import org.jspecify.annotations.Nullable;

/**
 * A response body was larger than the pool's {@code maxResponseBodySize} (phase {@link
 * Phase#READ}). The rest of the body was not read: the connection was closed (HTTP/1.1) or the
 * stream reset (HTTP/2). The server processed the request. Raise the limit, or read the body as a
 * stream.
 */
public class ResponseTooLargeException extends LlmPoolException {
  private static final long serialVersionUID = 1L;

  private final long limit;

  /** Creates the exception; {@code detail} must hold no secret. */
  public ResponseTooLargeException(
      @Nullable Origin origin, String detail, long limit, @Nullable Throwable cause) {
    super(Phase.READ, origin, detail, true, cause);
    this.limit = limit;
  }

  /** The limit in bytes. */
  public long limit() {
    return limit;
  }
}
