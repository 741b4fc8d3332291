package dev.llmpool.transport;

/** The peer's HTTP/1.1 bytes are malformed; the message holds no header value. */
final class H1ProtocolException extends Exception {
  private static final long serialVersionUID = 1L;

  H1ProtocolException(String message) {
    super(message, null, false, false);
  }
}
