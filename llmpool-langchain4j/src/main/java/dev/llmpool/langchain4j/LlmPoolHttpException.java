package dev.llmpool.langchain4j;

import dev.langchain4j.exception.HttpException;
import dev.llmpool.time.Ticker;
import java.time.Duration;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/**
 * A non-2xx answer, as LangChain4j's {@link HttpException} (so its exception mapping turns a 429
 * into {@code RateLimitException}, a 401 into {@code AuthenticationException}...) that also keeps
 * the response headers, which {@code HttpException} drops: {@code Retry-After}, the rate-limit
 * headers, the request id.
 *
 * <p>LangChain4j wraps it: find it as the cause of the exception a model throws.
 *
 * <pre>{@code
 * try {
 *   model.chat("Hello");
 * } catch (RateLimitException e) {
 *   if (e.getCause() instanceof LlmPoolHttpException http) {
 *     Duration wait = http.retryAfter().orElse(Duration.ofSeconds(1));
 *     String remaining = http.header("x-ratelimit-remaining-requests");
 *   }
 * }
 * }</pre>
 *
 * <p>It has no cause of its own, on purpose: LangChain4j's mapper looks for an {@code
 * HttpException} at the root of the cause chain. The message is the response body (the provider's
 * error JSON), as with LangChain4j's own HTTP clients.
 */
public class LlmPoolHttpException extends HttpException {
  private static final long serialVersionUID = 1L;

  /** Response headers (they carry no credential: those are request headers). */
  private final transient Map<String, List<String>> headers;

  /**
   * @param statusCode the response status
   * @param body the response body, as text
   * @param headers the response headers, by lower-case name
   */
  public LlmPoolHttpException(int statusCode, String body, Map<String, List<String>> headers) {
    super(statusCode, body);
    this.headers = Map.copyOf(headers);
  }

  /** The response headers, by lower-case name. */
  public Map<String, List<String>> headers() {
    return headers;
  }

  /** The first value of header {@code name} (any case), or null. */
  public @Nullable String header(String name) {
    List<String> v = headers.get(name.toLowerCase(Locale.ROOT));
    return v == null || v.isEmpty() ? null : v.get(0);
  }

  /** The response body: the provider's error, usually JSON. */
  public String body() {
    String m = getMessage();
    return m == null ? "" : m;
  }

  /**
   * How long the server asked to wait before retrying: {@code retry-after-ms} (OpenAI), else {@code
   * Retry-After} in seconds or as an HTTP date (relative to now). Empty when the response says
   * nothing (or nothing readable).
   */
  public Optional<Duration> retryAfter() {
    String ms = header("retry-after-ms");
    if (ms != null) {
      try {
        double v = Double.parseDouble(ms.trim());
        if (v >= 0 && !Double.isInfinite(v)) {
          return Optional.of(Duration.ofNanos((long) (v * 1_000_000)));
        }
      } catch (NumberFormatException e) {
        // fall through to Retry-After
      }
    }
    String ra = header("retry-after");
    if (ra == null) {
      return Optional.empty();
    }
    String s = ra.trim();
    try {
      double v = Double.parseDouble(s);
      return v >= 0 && !Double.isInfinite(v)
          ? Optional.of(Duration.ofNanos((long) (v * 1_000_000_000L)))
          : Optional.empty();
    } catch (NumberFormatException e) {
      try {
        long at =
            ZonedDateTime.parse(s, DateTimeFormatter.RFC_1123_DATE_TIME).toInstant().toEpochMilli();
        Duration d = Duration.ofMillis(at - Ticker.system().currentTimeMillis());
        return Optional.of(d.isNegative() ? Duration.ZERO : d);
      } catch (DateTimeParseException e2) {
        return Optional.empty();
      }
    }
  }
}
