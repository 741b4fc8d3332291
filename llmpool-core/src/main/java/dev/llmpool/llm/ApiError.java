package dev.llmpool.llm;

import java.io.Serializable;
import java.time.Duration;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * What an LLM API said when it refused or failed a call: the status and the provider's own error
 * object, decoded from both providers' shapes (OpenAI {@code {"error":{"message","type","param",
 * "code"}}}, Anthropic {@code {"type":"error","error":{"type","message"},"request_id"}}, and the
 * looser shapes of compatible servers). Carried by every {@link ApiStatusException}. Holds no
 * secret: header values are from a fixed list of harmless headers, and any credential the client
 * sent is cut out of the message and body.
 *
 * @param status the HTTP status; for an error event inside a stream (after a 200), the status the
 *     error type stands for ({@code overloaded_error} 529, {@code rate_limit_error} 429, {@code
 *     api_error} 500, ...)
 * @param message the provider's human-readable message, or null when it sent none
 * @param type the provider's error type ({@code invalid_request_error}, {@code rate_limit_error},
 *     {@code overloaded_error}...), or null
 * @param code the provider's error code ({@code context_length_exceeded}, {@code
 *     invalid_api_key}...), or null
 * @param requestId the provider's request id (header {@code x-request-id} or {@code request-id}, or
 *     the body's {@code request_id}), or null
 * @param retryAfter how long the server asked the client to wait ({@code retry-after-ms} or {@code
 *     Retry-After}), or null when it did not say
 * @param rateLimits the rate-limit headers of the error response
 * @param headers the response headers that help diagnose the failure (request ids, retry and
 *     rate-limit headers, {@code content-type}, {@code date}, {@code server}, {@code via}, {@code
 *     cf-ray}...), names in lower case
 * @param inStream true when the error arrived as an event inside a stream that had started with a
 *     200
 * @param body the response body (or the event's data) as text, cut to 16 KiB, credentials removed
 */
public record ApiError(
    int status,
    @Nullable String message,
    @Nullable String type,
    @Nullable String code,
    @Nullable String requestId,
    @Nullable Duration retryAfter,
    RateLimits rateLimits,
    Map<String, String> headers,
    boolean inStream,
    String body)
    implements Serializable {

  /** Checks and copies the parts. */
  public ApiError {
    if (status < 100 || status > 999) {
      throw new IllegalArgumentException("status must be 100..999, got " + status);
    }
    Objects.requireNonNull(rateLimits, "rateLimits");
    headers = Collections.unmodifiableMap(new LinkedHashMap<>(headers));
    Objects.requireNonNull(body, "body");
  }

  /** Status, type, code, message and request id, as put in the exception's message. */
  String describe() {
    StringBuilder sb = new StringBuilder(96);
    if (inStream) {
      sb.append("error event in a stream (stands for HTTP ").append(status).append(')');
    } else {
      sb.append("HTTP ").append(status);
    }
    if (type != null) {
      sb.append(' ').append(type);
    }
    if (code != null && !code.equals(type)) {
      sb.append(" (").append(code).append(')');
    }
    if (message != null) {
      sb.append(": ").append(message);
    }
    if (requestId != null) {
      sb.append(" [request-id ").append(requestId).append(']');
    }
    if (retryAfter != null) {
      sb.append(" [retry after ").append(retryAfter.toMillis()).append(" ms]");
    }
    return sb.toString();
  }

  /** Like {@link #describe()}; the body is left out. */
  @Override
  public String toString() {
    return "ApiError{" + describe() + "}";
  }
}
