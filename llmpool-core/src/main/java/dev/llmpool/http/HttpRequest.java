package dev.llmpool.http;

import dev.llmpool.EventListener;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * An HTTP request: method, target, headers and an optional body. Immutable and reusable: the same
 * request may be sent many times. Build with {@link #post(String)}, {@link #get(String)} or {@link
 * #builder(String, String)}.
 *
 * <pre>{@code
 * HttpRequest req = HttpRequest.post("/chat/completions")
 *     .json("{\"model\":\"gpt-4o\",\"messages\":[...]}")
 *     .header("accept", "text/event-stream")
 *     .build();
 * }</pre>
 *
 * <p>The target is either a path under the pool's base URL ({@code "/chat/completions"} or {@code
 * "chat/completions"} both give {@code https://api.openai.com/v1/chat/completions} for a base URL
 * of {@code https://api.openai.com/v1}), with an optional query, or an absolute {@code http(s)}
 * URL.
 *
 * <p>Headers that llmpool manages itself are refused: {@code Host}, {@code Content-Length}, {@code
 * Transfer-Encoding}, {@code Connection}, {@code Keep-Alive}, {@code Proxy-Connection}, {@code
 * Upgrade} and {@code TE}. A request header replaces a pool default header of the same name.
 */
public final class HttpRequest {
  private static final Set<String> MANAGED =
      Set.of(
          "host",
          "content-length",
          "transfer-encoding",
          "connection",
          "keep-alive",
          "proxy-connection",
          "upgrade",
          "te");

  /** Characters below 0x7f allowed unencoded in a request path: a table, checked per call. */
  private static final boolean[] PATH_CHARS = new boolean[0x7f];

  static {
    for (char c = 0x21; c < 0x7f; c++) {
      PATH_CHARS[c] = "\"<>\\^`{|}#".indexOf(c) < 0;
    }
  }

  /** {@code application/json}. */
  public static final String JSON = "application/json";

  private final String method;
  private final String target;
  private final boolean absolute;
  private final HttpHeaders headers;
  private final byte @Nullable [] body;
  private final @Nullable String contentType;
  private final @Nullable Duration timeout;
  private final @Nullable EventListener listener;
  private final boolean resendIfUnprocessed;

  private HttpRequest(Builder b) {
    this.method = b.method;
    this.target = b.target;
    this.absolute = b.absolute;
    this.headers = b.headers.build();
    this.body = b.body;
    this.contentType = b.contentType;
    this.timeout = b.timeout;
    this.listener = b.listener;
    this.resendIfUnprocessed = b.resendIfUnprocessed;
  }

  /** A GET request to {@code target} (a path under the base URL, or an absolute URL). */
  public static Builder get(String target) {
    return builder("GET", target);
  }

  /** A POST request to {@code target} (a path under the base URL, or an absolute URL). */
  public static Builder post(String target) {
    return builder("POST", target);
  }

  /**
   * A request with any method.
   *
   * @throws IllegalArgumentException for a method that is not an HTTP token, or a malformed target
   */
  public static Builder builder(String method, String target) {
    return new Builder(method, target);
  }

  /** A builder holding this request's values. */
  public Builder toBuilder() {
    Builder b = new Builder(method, target);
    b.headers = headers.toBuilder();
    b.body = body;
    b.contentType = contentType;
    b.timeout = timeout;
    b.listener = listener;
    b.resendIfUnprocessed = resendIfUnprocessed;
    return b;
  }

  /** The method, upper case. */
  public String method() {
    return method;
  }

  /** The target as given: a path (with query) or an absolute URL. */
  public String target() {
    return target;
  }

  /** True when {@link #target()} is an absolute URL. */
  public boolean isAbsolute() {
    return absolute;
  }

  /** The request's own headers (the pool adds its default headers when sending). */
  public HttpHeaders headers() {
    return headers;
  }

  /** A copy of the body, or null when the request has none. */
  public byte @Nullable [] body() {
    return body == null ? null : body.clone();
  }

  /** The body's length in bytes; 0 when there is none. */
  public int bodyLength() {
    return body == null ? 0 : body.length;
  }

  /** The body's media type, or null. */
  public @Nullable String contentType() {
    return contentType;
  }

  /** This call's own limit for the whole call, replacing {@code timeouts.total}; or null. */
  public @Nullable Duration timeout() {
    return timeout;
  }

  /** This call's own event listener (heard in addition to the pool's), or null. */
  public @Nullable EventListener listener() {
    return listener;
  }

  /**
   * Whether llmpool may re-send this request by itself when the server provably did not process it
   * (see {@link Builder#resendIfUnprocessed(boolean)}); true unless turned off.
   */
  public boolean resendIfUnprocessed() {
    return resendIfUnprocessed;
  }

  byte @Nullable [] bodyArray() {
    return body;
  }

  /**
   * {@code "POST /chat/completions"}: the method and the path, never the query (it may hold a key).
   */
  @Override
  public String toString() {
    return method + " " + pathOnly(target);
  }

  /** {@code target} without query and fragment; for an absolute URL, only its path. */
  static String pathOnly(String target) {
    String t = target;
    int q = t.indexOf('?');
    if (q >= 0) {
      t = t.substring(0, q);
    }
    int scheme = t.indexOf("://");
    if (scheme >= 0) {
      int slash = t.indexOf('/', scheme + 3);
      t = slash >= 0 ? t.substring(slash) : "/";
    }
    return t;
  }

  /** Builds an {@link HttpRequest}. Not thread-safe. */
  public static final class Builder {
    private final String method;
    private final String target;
    private final boolean absolute;
    private HttpHeaders.Builder headers = HttpHeaders.builder();
    private byte @Nullable [] body;
    private @Nullable String contentType;
    private @Nullable Duration timeout;
    private @Nullable EventListener listener;
    private boolean resendIfUnprocessed = true;

    private Builder(String method, String target) {
      Objects.requireNonNull(method, "method");
      Objects.requireNonNull(target, "target");
      this.method =
          switch (method) {
            // The usual methods, already valid upper-case tokens: no check per call.
            case "POST", "GET", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS" -> method;
            default -> HttpHeaders.checkName(method).toUpperCase(Locale.ROOT);
          };
      this.absolute = target.contains("://");
      this.target = absolute ? checkUrl(target) : checkPath(target);
    }

    private static String checkUrl(String url) {
      URI uri;
      try {
        uri = new URI(url);
      } catch (java.net.URISyntaxException e) {
        throw new IllegalArgumentException(
            "malformed URL (at index " + e.getIndex() + "): " + pathOnly(url), e);
      }
      String scheme = uri.getScheme();
      if (scheme == null
          || !(scheme.equalsIgnoreCase("http") || scheme.equalsIgnoreCase("https"))
          || uri.getHost() == null) {
        throw new IllegalArgumentException("not an http(s) URL with a host: " + pathOnly(url));
      }
      if (uri.getRawUserInfo() != null) {
        throw new IllegalArgumentException(
            "credentials in a URL are not supported (they would leak into logs); use a header");
      }
      if (uri.getRawFragment() != null) {
        throw new IllegalArgumentException("a request URL has no fragment: " + pathOnly(url));
      }
      for (int i = 0; i < url.length(); i++) {
        if (url.charAt(i) >= 0x80) {
          // java.net.URI accepts non-ASCII characters, which are not allowed on the wire (RFC
          // 3986): send them percent-encoded as UTF-8, as browsers do.
          return uri.toASCIIString();
        }
      }
      return url;
    }

    private static String checkPath(String path) {
      for (int i = 0; i < path.length(); i++) {
        char c = path.charAt(i);
        if (c >= 0x7f || !PATH_CHARS[c]) {
          throw new IllegalArgumentException(
              "request path has an illegal character at index "
                  + i
                  + " (percent-encode it): "
                  + pathOnly(path.substring(0, Math.min(path.length(), i))));
        }
      }
      return path;
    }

    /** Adds a header. */
    public Builder header(String name, String value) {
      checkManaged(name);
      headers.add(name, value);
      return this;
    }

    /** Adds every field of {@code h}. */
    public Builder headers(HttpHeaders h) {
      for (int i = 0; i < h.size(); i++) {
        header(h.name(i), h.value(i));
      }
      return this;
    }

    /** Removes every header named {@code name}. */
    public Builder removeHeader(String name) {
      headers.remove(name);
      return this;
    }

    private static void checkManaged(String name) {
      if (MANAGED.contains(name.toLowerCase(Locale.ROOT))) {
        throw new IllegalArgumentException(
            "header '" + name + "' is managed by llmpool and cannot be set");
      }
    }

    /** The body, with its media type (e.g. {@code application/json}). The array is copied. */
    public Builder body(byte[] bytes, String contentType) {
      this.body = Objects.requireNonNull(bytes, "body").clone();
      this.contentType = HttpHeaders.checkValue("content-type", contentType);
      return this;
    }

    /**
     * The body without a copy: llmpool keeps {@code bytes} and sends them as they are whenever the
     * request is sent (also on a safe re-send), so the caller must not change the array afterwards.
     * For a body serialised for this request alone, such as a large prompt, where {@link
     * #body(byte[], String)}'s defensive copy would only cost memory.
     */
    public Builder bodyWithoutCopy(byte[] bytes, String contentType) {
      this.body = Objects.requireNonNull(bytes, "body");
      this.contentType = HttpHeaders.checkValue("content-type", contentType);
      return this;
    }

    /** A text body, encoded as UTF-8. */
    public Builder body(String text, String contentType) {
      this.body = Objects.requireNonNull(text, "body").getBytes(StandardCharsets.UTF_8);
      this.contentType = HttpHeaders.checkValue("content-type", contentType);
      return this;
    }

    /** A JSON body (already serialised), UTF-8, {@code application/json}. */
    public Builder json(String json) {
      return body(json, JSON);
    }

    /** A JSON body (already serialised as UTF-8 bytes), {@code application/json}. */
    public Builder json(byte[] json) {
      return body(json, JSON);
    }

    /** No body. */
    public Builder noBody() {
      this.body = null;
      this.contentType = null;
      return this;
    }

    /** A limit for this whole call, replacing {@code timeouts.total}. */
    public Builder timeout(Duration total) {
      Objects.requireNonNull(total, "timeout");
      if (total.isZero() || total.isNegative()) {
        throw new IllegalArgumentException("timeout must be positive, got " + total);
      }
      this.timeout = total;
      return this;
    }

    /** An event listener for this call, heard in addition to the pool's. */
    public Builder listener(EventListener l) {
      this.listener = Objects.requireNonNull(l, "listener");
      return this;
    }

    /**
     * Whether llmpool may re-send this request by itself when the server provably did not process
     * it (a stale pooled connection, an HTTP/2 stream refused or above a GOAWAY). Default true.
     * Turn it off for a request that must go on the wire at most once whatever happens, such as one
     * whose body came from a source that cannot be read twice (the SDK integrations do this for
     * bodies their SDK marks non-repeatable): such a failure is then reported at once, still with
     * {@code requestMayHaveBeenProcessed() == false}, and the caller decides.
     */
    public Builder resendIfUnprocessed(boolean allowed) {
      this.resendIfUnprocessed = allowed;
      return this;
    }

    /** The request. */
    public HttpRequest build() {
      return new HttpRequest(this);
    }
  }
}
