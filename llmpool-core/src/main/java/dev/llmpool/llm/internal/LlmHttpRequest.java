package dev.llmpool.llm.internal;

import dev.llmpool.Origin;
import java.net.URI;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * One HTTP request of the LLM layer: always a {@code POST} of a JSON body to an absolute URL.
 * Immutable (the body array is shared, never modified).
 */
public final class LlmHttpRequest {
  private final URI uri;
  private final List<Map.Entry<String, String>> headers;
  private final byte[] body;
  private final boolean streaming;
  private final long deadlineNanos;
  private final int attempt;

  /**
   * @param uri the absolute URL (it may carry a query such as Azure's {@code api-version}; never
   *     print it whole, a query may hold a key: use {@link #origin()} and {@link #path()})
   * @param headers the request headers in order, names in lower case, credentials included; the
   *     HTTP layer adds {@code host}, {@code content-length} and {@code user-agent}
   * @param body the JSON body (the same array is re-sent on retries; never modified)
   * @param streaming true when the response is an SSE stream to be read chunk by chunk
   * @param deadlineNanos the {@link dev.llmpool.time.Ticker#nanoTime()} by which the whole call
   *     must end ({@code timeouts.total} from the call's start, retries included)
   * @param attempt 1 for the first attempt, 2 for the first retry...
   */
  public LlmHttpRequest(
      URI uri,
      List<Map.Entry<String, String>> headers,
      byte[] body,
      boolean streaming,
      long deadlineNanos,
      int attempt) {
    this.uri = Objects.requireNonNull(uri, "uri");
    if (!uri.isAbsolute()) {
      throw new IllegalArgumentException("request URI must be absolute");
    }
    this.headers = List.copyOf(headers);
    this.body = Objects.requireNonNull(body, "body");
    this.streaming = streaming;
    this.deadlineNanos = deadlineNanos;
    this.attempt = attempt;
  }

  /** Always {@code POST}. */
  public String method() {
    return "POST";
  }

  /** The absolute URL; do not print it (its query may hold a key). */
  public URI uri() {
    return uri;
  }

  /** The headers in order, names in lower case, credentials included. */
  public List<Map.Entry<String, String>> headers() {
    return headers;
  }

  /** The JSON body; do not modify (shared on purpose: retries re-send it without a copy). */
  public byte[] body() {
    return body;
  }

  /** True when the response is to be read as a stream. */
  public boolean streaming() {
    return streaming;
  }

  /** The call's deadline on the ticker. */
  public long deadlineNanos() {
    return deadlineNanos;
  }

  /** 1 for the first attempt, 2 for the first retry... */
  public int attempt() {
    return attempt;
  }

  /** Where the request goes. */
  public Origin origin() {
    return Origin.of(uri);
  }

  /** The path without the query, safe to print. */
  public String path() {
    String p = uri.getRawPath();
    return p == null || p.isEmpty() ? "/" : p;
  }

  /** The value of the first header named {@code lowerCaseName}, or null. */
  public @Nullable String header(String lowerCaseName) {
    for (Map.Entry<String, String> h : headers) {
      if (h.getKey().equals(lowerCaseName)) {
        return h.getValue();
      }
    }
    return null;
  }

  /** Method, origin, path and header names: never a header value, a query or the body. */
  @Override
  public String toString() {
    StringBuilder sb = new StringBuilder("POST ").append(origin()).append(path());
    sb.append(" headers=[");
    for (int i = 0; i < headers.size(); i++) {
      sb.append(i == 0 ? "" : ", ").append(headers.get(i).getKey());
    }
    return sb.append("] body=")
        .append(body.length)
        .append(" bytes")
        .append(streaming ? " streaming" : "")
        .append(" attempt=")
        .append(attempt)
        .toString();
  }
}
