package dev.llmpool.testkit;

import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * One request as the mock server received it, in the order requests were read: what a test asserts
 * on to prove, for example, that the server never saw a request twice.
 *
 * <p>Header names are lower case. {@link #toString()} hides the values of {@code authorization},
 * {@code x-api-key}, {@code proxy-authorization} and {@code cookie}; the accessors do not (a test
 * may check the key it sent).
 */
public final class RecordedRequest {
  private final long connectionId;
  private final int streamId;
  private final int sequence;
  private final Protocol protocol;
  private final boolean tls;
  private final String method;
  private final String path;
  private final Map<String, List<String>> headers;
  private final byte[] body;
  private final String prompt;
  private final @Nullable String model;
  private final String requestId;
  private final @Nullable Reply reply;

  RecordedRequest(
      long connectionId,
      int streamId,
      int sequence,
      Protocol protocol,
      boolean tls,
      String method,
      String path,
      Map<String, List<String>> headers,
      byte[] body,
      String prompt,
      @Nullable String model,
      String requestId,
      @Nullable Reply reply) {
    this.connectionId = connectionId;
    this.streamId = streamId;
    this.sequence = sequence;
    this.protocol = protocol;
    this.tls = tls;
    this.method = method;
    this.path = path;
    this.headers = Collections.unmodifiableMap(headers);
    this.body = body;
    this.prompt = prompt;
    this.model = model;
    this.requestId = requestId;
    this.reply = reply;
  }

  RecordedRequest withReply(Reply reply) {
    return new RecordedRequest(
        connectionId,
        streamId,
        sequence,
        protocol,
        tls,
        method,
        path,
        headers,
        body,
        prompt,
        model,
        requestId,
        reply);
  }

  /** The id of the connection it came on (see {@link MockServerStats#connections()}). */
  public long connectionId() {
    return connectionId;
  }

  /** The HTTP/2 stream id, or 0 for HTTP/1.1. */
  public int streamId() {
    return streamId;
  }

  /** Its place among the requests of its connection: 1 for the first. */
  public int sequenceOnConnection() {
    return sequence;
  }

  /** The connection's protocol. */
  public Protocol protocol() {
    return protocol;
  }

  /** Whether the connection was TLS. */
  public boolean tls() {
    return tls;
  }

  /** The method, such as {@code POST}. */
  public String method() {
    return method;
  }

  /** The path with its query, such as {@code /v1/chat/completions}. */
  public String path() {
    return path;
  }

  /** All headers, lower-case names in arrival order (HTTP/2 pseudo-headers excluded). */
  public Map<String, List<String>> headers() {
    return headers;
  }

  /** The first value of a header, or null. */
  public @Nullable String header(String name) {
    List<String> values = headers.get(name.toLowerCase(Locale.ROOT));
    return values == null || values.isEmpty() ? null : values.get(0);
  }

  /**
   * The body as read: empty when the server answered before reading it ({@link
   * Fault#RESPOND_BEFORE_BODY}, 413).
   */
  public byte[] body() {
    return body.clone();
  }

  /** The body as UTF-8 text. */
  public String bodyUtf8() {
    return new String(body, StandardCharsets.UTF_8);
  }

  /** The text of the last user message, or empty when there is none (or the body was not JSON). */
  public String prompt() {
    return prompt;
  }

  /** The {@code model} of the JSON body, or null. */
  public @Nullable String model() {
    return model;
  }

  /** The id the server gave the response ({@code x-request-id} and {@code request-id}). */
  public String requestId() {
    return requestId;
  }

  /**
   * What the server did with it; null only while a rule's predicate is looking at the request,
   * before the reply is chosen. A request rejected by validation (401, 400, 404, 413) shows an
   * error reply of that status.
   */
  public @Nullable Reply reply() {
    return reply;
  }

  @Override
  public String toString() {
    StringBuilder s =
        new StringBuilder("RecordedRequest{")
            .append(method)
            .append(' ')
            .append(path)
            .append(", ")
            .append(protocol)
            .append(tls ? "+tls" : "")
            .append(", connection=")
            .append(connectionId)
            .append(", stream=")
            .append(streamId)
            .append(", headers={");
    boolean first = true;
    for (Map.Entry<String, List<String>> h : headers.entrySet()) {
      s.append(first ? "" : ", ").append(h.getKey()).append('=');
      s.append(secret(h.getKey()) ? "[redacted]" : String.join(",", h.getValue()));
      first = false;
    }
    return s.append("}, body=").append(body.length).append(" bytes}").toString();
  }

  private static boolean secret(String name) {
    return name.equals("authorization")
        || name.equals("x-api-key")
        || name.equals("proxy-authorization")
        || name.equals("cookie");
  }
}
