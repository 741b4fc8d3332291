package dev.llmpool.http;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Locale;
import java.util.Objects;

/**
 * A complete HTTP response: status, headers and the whole body, read into memory (bounded by the
 * pool's {@code maxResponseBodySize}). Immutable. Any status is a response, not an exception: the
 * HTTP layer leaves the meaning of 4xx and 5xx to the caller.
 *
 * <p>For a body read piece by piece as it arrives, use {@code LlmPool.stream} and {@link
 * StreamingResponse}.
 */
public final class HttpResponse {
  private final int status;
  private final HttpHeaders headers;
  private final HttpVersion version;
  private final byte[] body;
  private final int length;

  private HttpResponse(
      int status, HttpHeaders headers, HttpVersion version, byte[] body, int length) {
    this.status = status;
    this.headers = headers;
    this.version = version;
    this.body = body;
    this.length = length;
  }

  /**
   * A response made by hand (tests, fakes); the body is copied.
   *
   * @throws IllegalArgumentException for a status outside 100..999
   */
  public HttpResponse(int status, HttpHeaders headers, HttpVersion version, byte[] body) {
    this(checkStatus(status), Objects.requireNonNull(headers), version, body.clone(), body.length);
  }

  static HttpResponse wrap(
      int status, HttpHeaders headers, HttpVersion version, byte[] body, int length) {
    return new HttpResponse(status, headers, version, body, length);
  }

  private static int checkStatus(int status) {
    if (status < 100 || status > 999) {
      throw new IllegalArgumentException("status must be 100..999, got " + status);
    }
    return status;
  }

  /** The status code. */
  public int status() {
    return status;
  }

  /** True for a 2xx status. */
  public boolean isSuccessful() {
    return status >= 200 && status < 300;
  }

  /** The response headers. */
  public HttpHeaders headers() {
    return headers;
  }

  /** The first value of header {@code name} (case-insensitive), or null. */
  public @org.jspecify.annotations.Nullable String header(String name) {
    return headers.get(name);
  }

  /** The HTTP version the exchange ran over. */
  public HttpVersion version() {
    return version;
  }

  /** The body's length in bytes. */
  public int bodyLength() {
    return length;
  }

  /** A copy of the body. */
  public byte[] body() {
    return Arrays.copyOf(body, length);
  }

  /** The body as a read-only buffer, without copying. */
  public ByteBuffer bodyBuffer() {
    return ByteBuffer.wrap(body, 0, length).asReadOnlyBuffer();
  }

  /** The body as a stream, without copying (for a JSON parser, say). */
  public InputStream bodyStream() {
    return new ByteArrayInputStream(body, 0, length);
  }

  /** The body as text, in the charset of its Content-Type, UTF-8 when none is named. */
  public String bodyString() {
    return new String(body, 0, length, charset(headers.get("content-type")));
  }

  static Charset charset(@org.jspecify.annotations.Nullable String contentType) {
    if (contentType != null) {
      int i = contentType.toLowerCase(Locale.ROOT).indexOf("charset=");
      if (i >= 0) {
        String name = contentType.substring(i + 8).trim();
        int end = name.indexOf(';');
        if (end >= 0) {
          name = name.substring(0, end).trim();
        }
        if (name.length() > 1 && name.startsWith("\"") && name.endsWith("\"")) {
          name = name.substring(1, name.length() - 1);
        }
        try {
          return Charset.forName(name);
        } catch (IllegalArgumentException e) {
          // An unknown charset: fall back to UTF-8, the JSON default.
        }
      }
    }
    return StandardCharsets.UTF_8;
  }

  /** {@code "HTTP/2 200 (1234 bytes)"}; never the body or header values. */
  @Override
  public String toString() {
    return version + " " + status + " (" + length + " bytes)";
  }
}
