package dev.llmpool.llm;

import dev.llmpool.LlmPoolException;
import dev.llmpool.Origin;
import dev.llmpool.Phase;
import java.time.Duration;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * The LLM API answered with an error (phase {@link Phase#HTTP_STATUS}): an error status, or an
 * {@code error} event inside a stream that had started with a 200. {@link #error()} holds what the
 * provider said. The subclasses name the common cases; this class itself stands for the other
 * statuses (408, 409, 413...).
 *
 * <table>
 *   <caption>Which exception for which status</caption>
 *   <tr><th>status</th><th>exception</th><th>retried by default</th></tr>
 *   <tr><td>400, 422</td><td>{@link BadRequestException}</td><td>no</td></tr>
 *   <tr><td>401</td><td>{@link AuthenticationException}</td><td>no</td></tr>
 *   <tr><td>403</td><td>{@link PermissionDeniedException}</td><td>no</td></tr>
 *   <tr><td>404</td><td>{@link NotFoundException}</td><td>no</td></tr>
 *   <tr><td>429</td><td>{@link RateLimitException}</td><td>yes</td></tr>
 *   <tr><td>529</td><td>{@link OverloadedException}</td><td>yes</td></tr>
 *   <tr><td>other 5xx</td><td>{@link ServerErrorException}</td><td>500, 502, 503, 504</td></tr>
 *   <tr><td>anything else</td><td>{@code ApiStatusException}</td><td>408, 409</td></tr>
 * </table>
 *
 * <p>{@link #requestMayHaveBeenProcessed()} is false for 4xx, 503 and 529 (the server refused the
 * work) and true for other 5xx and for errors inside a stream.
 */
public class ApiStatusException extends LlmPoolException {
  private static final long serialVersionUID = 1L;

  private final ApiError error;

  /**
   * Creates the exception; prefer {@link #of(Origin, ApiError)}, which picks the subclass.
   *
   * @param origin the server that answered
   * @param error what it said (must hold no secret)
   * @param requestMayHaveBeenProcessed whether the server may have acted on the request
   */
  public ApiStatusException(
      @Nullable Origin origin, ApiError error, boolean requestMayHaveBeenProcessed) {
    super(
        Phase.HTTP_STATUS,
        origin,
        Objects.requireNonNull(error, "error").describe(),
        requestMayHaveBeenProcessed,
        null);
    this.error = error;
  }

  /** The exception type for {@code error.status()}, as in the table above. */
  public static ApiStatusException of(@Nullable Origin origin, ApiError error) {
    int status = error.status();
    boolean processed = error.inStream() || (status >= 500 && status != 503 && status != 529);
    return switch (status) {
      case 400, 422 -> new BadRequestException(origin, error, processed);
      case 401 -> new AuthenticationException(origin, error, processed);
      case 403 -> new PermissionDeniedException(origin, error, processed);
      case 404 -> new NotFoundException(origin, error, processed);
      case 429 -> new RateLimitException(origin, error, processed);
      case 529 -> new OverloadedException(origin, error, processed);
      default ->
          status >= 500 && status <= 599
              ? new ServerErrorException(origin, error, processed)
              : new ApiStatusException(origin, error, processed);
    };
  }

  /** What the provider said. */
  public ApiError error() {
    return error;
  }

  /** The HTTP status (for an error event in a stream, the status its type stands for). */
  public int status() {
    return error.status();
  }

  /** The provider's message, or null. */
  public @Nullable String providerMessage() {
    return error.message();
  }

  /** The provider's error type, or null. */
  public @Nullable String errorType() {
    return error.type();
  }

  /** The provider's request id, or null: quote it to the provider's support. */
  public @Nullable String requestId() {
    return error.requestId();
  }

  /** How long the server asked to wait before trying again, or null. */
  public @Nullable Duration retryAfter() {
    return error.retryAfter();
  }

  /** The rate-limit headers of the error response. */
  public RateLimits rateLimits() {
    return error.rateLimits();
  }
}
