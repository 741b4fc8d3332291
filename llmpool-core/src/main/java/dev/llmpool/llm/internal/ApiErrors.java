package dev.llmpool.llm.internal;

import com.fasterxml.jackson.databind.JsonNode;
import dev.llmpool.Origin;
import dev.llmpool.llm.ApiError;
import dev.llmpool.llm.ApiStatusException;
import dev.llmpool.llm.RateLimits;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * Turns an error response, or an error event inside a stream, into the typed {@link
 * ApiStatusException}, reading every error shape the supported servers use:
 *
 * <ul>
 *   <li>OpenAI, Azure, LiteLLM: {@code {"error":{"message","type","param","code"}}} ({@code code}
 *       may be a string or a number);
 *   <li>Anthropic: {@code {"type":"error","error":{"type","message"},"request_id"}};
 *   <li>Ollama: {@code {"error":"message"}}; older vLLM: {@code {"object":"error","message","type",
 *       "code"}}; FastAPI servers: {@code {"detail": ...}};
 *   <li>anything else (an HTML page from a proxy, plain text): the text, or an HTML title, is the
 *       message.
 * </ul>
 */
public final class ApiErrors {
  /** The longest provider message kept in an exception message. */
  static final int MAX_MESSAGE_CHARS = 1000;

  /** The longest body kept in {@link ApiError#body()}. */
  static final int MAX_BODY_CHARS = 16 * 1024;

  /** Response headers worth keeping on an error: none of them can carry a credential. */
  static final List<String> KEPT_HEADERS =
      List.of(
          "x-request-id",
          "request-id",
          "apim-request-id",
          "retry-after",
          "retry-after-ms",
          "x-should-retry",
          "content-type",
          "date",
          "server",
          "via",
          "cf-ray",
          "x-envoy-upstream-service-time",
          "openai-processing-ms",
          "openai-version",
          "x-ratelimit-limit-requests",
          "x-ratelimit-remaining-requests",
          "x-ratelimit-reset-requests",
          "x-ratelimit-limit-tokens",
          "x-ratelimit-remaining-tokens",
          "x-ratelimit-reset-tokens",
          "anthropic-ratelimit-requests-limit",
          "anthropic-ratelimit-requests-remaining",
          "anthropic-ratelimit-requests-reset",
          "anthropic-ratelimit-tokens-limit",
          "anthropic-ratelimit-tokens-remaining",
          "anthropic-ratelimit-tokens-reset",
          "anthropic-ratelimit-input-tokens-limit",
          "anthropic-ratelimit-input-tokens-remaining",
          "anthropic-ratelimit-input-tokens-reset",
          "anthropic-ratelimit-output-tokens-limit",
          "anthropic-ratelimit-output-tokens-remaining",
          "anthropic-ratelimit-output-tokens-reset");

  private ApiErrors() {}

  /**
   * The exception for an error status.
   *
   * @param body the response body (possibly empty or cut short)
   * @param nowMillis wall clock when the headers arrived, for an HTTP-date {@code Retry-After}
   */
  public static ApiStatusException fromResponse(
      Origin origin,
      int status,
      HeaderValues.Lookup headers,
      byte[] body,
      Redactor redactor,
      long nowMillis) {
    String text = new String(body, StandardCharsets.UTF_8);
    JsonNode root = null;
    try {
      if (body.length > 0) {
        root = Json.parse(body, 0, body.length);
      }
    } catch (java.io.IOException | RuntimeException e) {
      root = null; // not JSON: the text is the message
    }
    Parts p = root != null ? parts(root) : textParts(text);
    return ApiStatusException.of(
        origin, build(status, p, headers, text, redactor, nowMillis, false));
  }

  /**
   * The exception for an error that came after a 200 (see {@link ProviderErrorEvent}): its status
   * is the one its type or code stands for.
   *
   * @param headers the 200 response's headers (request id, rate limits)
   */
  public static ApiStatusException fromEvent(
      Origin origin,
      ProviderErrorEvent event,
      HeaderValues.Lookup headers,
      Redactor redactor,
      long nowMillis) {
    Parts p = parts(event.root());
    int status = p.numericCode > 0 ? p.numericCode : statusForType(p.type);
    return ApiStatusException.of(
        origin, build(status, p, headers, event.raw(), redactor, nowMillis, true));
  }

  /** The HTTP status an error type stands for (Anthropic's table; OpenAI's names too). */
  static int statusForType(@Nullable String type) {
    if (type == null) {
      return 500;
    }
    return switch (type.toLowerCase(Locale.ROOT)) {
      case "invalid_request_error", "bad_request", "invalid_request" -> 400;
      case "authentication_error", "invalid_api_key", "unauthorized" -> 401;
      case "billing_error" -> 402;
      case "permission_error", "permission_denied" -> 403;
      case "not_found_error", "not_found", "model_not_found" -> 404;
      case "request_too_large" -> 413;
      case "rate_limit_error", "rate_limit_exceeded", "insufficient_quota", "tokens", "requests" ->
          429;
      case "timeout_error", "timeout" -> 504;
      case "overloaded_error", "overloaded" -> 529;
      case "service_unavailable", "service_unavailable_error" -> 503;
      default -> 500; // api_error, server_error, and types we do not know
    };
  }

  private static ApiError build(
      int status,
      Parts p,
      HeaderValues.Lookup headers,
      String body,
      Redactor redactor,
      long nowMillis,
      boolean inStream) {
    Map<String, String> kept = new LinkedHashMap<>();
    for (String name : KEPT_HEADERS) {
      String v = headers.get(name);
      if (v != null) {
        kept.put(name, redactor.redact(v));
      }
    }
    String requestId = HeaderValues.requestId(headers);
    if (requestId == null) {
      requestId = p.requestId;
    }
    Duration retryAfter = inStream ? null : HeaderValues.retryAfter(headers, nowMillis);
    RateLimits limits = HeaderValues.rateLimits(headers, nowMillis);
    return new ApiError(
        status,
        clip(redactor, p.message, MAX_MESSAGE_CHARS),
        clip(redactor, p.type, 200),
        clip(redactor, p.code, 200),
        clip(redactor, requestId, 200),
        retryAfter,
        limits,
        kept,
        inStream,
        redactor.redact(body.length() > MAX_BODY_CHARS ? body.substring(0, MAX_BODY_CHARS) : body));
  }

  private static @Nullable String clip(Redactor r, @Nullable String s, int max) {
    if (s == null) {
      return null;
    }
    String t = r.redact(s.strip());
    if (t.isEmpty()) {
      return null;
    }
    return t.length() > max ? t.substring(0, max) + "..." : t;
  }

  /** What an error body said. */
  private static final class Parts {
    @Nullable String message;
    @Nullable String type;
    @Nullable String code;
    @Nullable String requestId;
    int numericCode;
  }

  private static Parts parts(JsonNode root) {
    if (root.isArray() && root.size() > 0) {
      root = root.get(0);
    }
    Parts p = new Parts();
    p.requestId = Json.text(root, "request_id");
    JsonNode error = root.get("error");
    JsonNode holder = root;
    boolean nested = false;
    if (error != null && error.isObject()) {
      holder = error;
      nested = true;
    } else if (error != null && error.isTextual()) {
      p.message = error.asText();
    }
    if (p.message == null) {
      p.message = Json.text(holder, "message");
    }
    if (p.message == null) {
      JsonNode detail = root.get("detail");
      if (detail != null && !detail.isNull()) {
        p.message = detail.isTextual() ? detail.asText() : Json.write(detail);
      }
    }
    String type = Json.text(holder, "type");
    if ((type == null || type.equals("error")) && nested) {
      type = Json.text(root, "type");
    }
    // Anthropic's top-level "type":"error" says only that this is an error.
    p.type = type == null || type.equals("error") ? null : type;
    JsonNode code = holder.get("code");
    if (code != null && !code.isNull() && !code.isContainerNode()) {
      p.code = code.asText();
      int n = code.isNumber() ? code.asInt() : parseStatus(code.asText());
      if (n >= 400 && n <= 599) {
        p.numericCode = n;
      }
    }
    return p;
  }

  private static int parseStatus(String s) {
    if (s.length() != 3) {
      return -1;
    }
    for (int i = 0; i < 3; i++) {
      if (s.charAt(i) < '0' || s.charAt(i) > '9') {
        return -1;
      }
    }
    return Integer.parseInt(s);
  }

  private static Parts textParts(String text) {
    Parts p = new Parts();
    String t = text.strip();
    if (t.startsWith("<")) {
      String lower = t.toLowerCase(Locale.ROOT);
      int a = lower.indexOf("<title>");
      int b = lower.indexOf("</title>");
      if (a >= 0 && b > a) {
        t = t.substring(a + 7, b).strip();
      } else {
        t = t.replaceAll("<[^>]*>", " ").replaceAll("\\s+", " ").strip();
      }
    }
    p.message = t.isEmpty() ? null : t;
    return p;
  }
}
