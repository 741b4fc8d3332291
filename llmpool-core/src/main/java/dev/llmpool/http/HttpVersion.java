package dev.llmpool.http;

/** The HTTP version an exchange ran over. */
public enum HttpVersion {
  /** HTTP/1.1 (RFC 9112): one exchange at a time per connection. */
  HTTP_1_1,
  /** HTTP/2 (RFC 9113): many streams on one connection. */
  HTTP_2;

  /** {@code "HTTP/1.1"} or {@code "HTTP/2"}. */
  @Override
  public String toString() {
    return this == HTTP_2 ? "HTTP/2" : "HTTP/1.1";
  }
}
