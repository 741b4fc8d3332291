package dev.llmpool.testkit;

import java.util.List;
import java.util.Map;

/**
 * A response worked out in full before the first byte is written: status, headers, body parts with
 * the delay before each, and the fault to act out. The protocol handlers only write it.
 *
 * @param status the HTTP status
 * @param headers response headers, lower-case names, in order
 * @param parts the body: one part for JSON, one per event for a stream
 * @param streaming whether the body is an event stream (no content-length; chunked on HTTP/1.1)
 * @param headersDelayNanos the wait before the headers
 * @param fault what goes wrong
 */
record Plan(
    int status,
    List<Map.Entry<String, String>> headers,
    List<Part> parts,
    boolean streaming,
    long headersDelayNanos,
    Fault fault) {

  /** One piece of the body and the wait before it. Not a record: it holds an array. */
  static final class Part {
    private final byte[] bytes;
    private final long delayNanos;

    Part(byte[] bytes, long delayNanos) {
      this.bytes = bytes;
      this.delayNanos = delayNanos;
    }

    /** The bytes, shared, not copied: parts are built once and only read. */
    byte[] bytes() {
      return bytes;
    }

    long delayNanos() {
      return delayNanos;
    }
  }

  /** The body's length in bytes. */
  long contentLength() {
    long n = 0;
    for (Part p : parts) {
      n += p.bytes().length;
    }
    return n;
  }
}
