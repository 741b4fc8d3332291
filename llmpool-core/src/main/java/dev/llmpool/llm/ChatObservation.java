package dev.llmpool.llm;

import dev.llmpool.Origin;
import java.time.Duration;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * One finished chat call, as a {@link ChatObserver} hears it. The names follow the OpenTelemetry
 * GenAI semantic conventions, so a metrics binder maps them one to one: {@code
 * gen_ai.provider.name} ← {@link #provider()}, {@code gen_ai.operation.name} ← {@link
 * #operation()}, {@code gen_ai.request.model}, {@code gen_ai.response.model}, {@code
 * gen_ai.usage.input_tokens} / {@code output_tokens}, {@code gen_ai.client.operation.duration} ←
 * {@link #duration()}, {@code gen_ai.client.operation.time_to_first_chunk} ← {@link
 * #timeToFirstChunk()}, {@code error.type}, {@code server.address} / {@code server.port} ← {@link
 * #server()}. Immutable; holds no secret and no message text.
 *
 * @param provider {@code "openai"} (any OpenAI-compatible server) or {@code "anthropic"}, the
 *     OpenTelemetry {@code gen_ai.system} values
 * @param operation {@code "chat"}
 * @param server the origin the call went to (scheme, host, port; never a path or query)
 * @param streaming whether the call streamed ({@code stream}, {@code streamAsync})
 * @param requestModel the model asked for, or null when none was set
 * @param responseModel the model that answered, as the provider names it, or null (failures,
 *     servers that do not say)
 * @param usage the tokens the response reported, or null (failures, streams without usage)
 * @param duration from the start of the call to its end, retries and waits included
 * @param timeToFirstChunk for a stream, from the start of the call to the first output delivered to
 *     the listener (text, reasoning or a tool call); null for a non-streamed call or a stream that
 *     delivered nothing
 * @param attempts how many times the request was sent (0 when the call failed before sending)
 * @param errorType the simple class name of the exception the call failed with ({@code
 *     RateLimitException}, {@code ReadTimeoutException}, {@code CancellationException}...), null on
 *     success
 * @param error the exception the call failed with, null on success
 * @param finishReason why generation stopped, in the provider's words, or null
 * @param rateLimits the last rate-limit headers of the call (of the successful response, or of the
 *     error response); {@link RateLimits#NONE} when none came
 */
public record ChatObservation(
    String provider,
    String operation,
    Origin server,
    boolean streaming,
    @Nullable String requestModel,
    @Nullable String responseModel,
    @Nullable Usage usage,
    Duration duration,
    @Nullable Duration timeToFirstChunk,
    int attempts,
    @Nullable String errorType,
    @Nullable Throwable error,
    @Nullable String finishReason,
    RateLimits rateLimits) {

  /** The {@link #operation()} of chat calls. */
  public static final String CHAT = "chat";

  /** Checks the parts. */
  public ChatObservation {
    Objects.requireNonNull(provider, "provider");
    Objects.requireNonNull(operation, "operation");
    Objects.requireNonNull(server, "server");
    Objects.requireNonNull(duration, "duration");
    Objects.requireNonNull(rateLimits, "rateLimits");
  }

  /** True when the call succeeded. */
  public boolean succeeded() {
    return error == null;
  }

  /** A short summary, without the exception's stack. */
  @Override
  public String toString() {
    return "ChatObservation{"
        + provider
        + " "
        + operation
        + (streaming ? " stream" : "")
        + " "
        + server
        + ", requestModel="
        + requestModel
        + ", responseModel="
        + responseModel
        + ", usage="
        + usage
        + ", duration="
        + duration
        + (timeToFirstChunk == null ? "" : ", timeToFirstChunk=" + timeToFirstChunk)
        + ", attempts="
        + attempts
        + (errorType == null ? "" : ", errorType=" + errorType)
        + "}";
  }
}
