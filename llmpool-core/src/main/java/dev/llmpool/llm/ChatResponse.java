package dev.llmpool.llm;

import java.time.Duration;
import java.util.List;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * The model's answer and everything known about the call that produced it. Returned by both {@link
 * ChatClient#complete} and {@link ChatClient#stream}; immutable.
 *
 * <p>{@link #rawJson()} is the provider's whole response: for a non-streamed call, the body exactly
 * as received, so every field llmpool does not model (logprobs, citations, new fields) is there;
 * for a streamed call, the events folded into the shape the non-streamed call would have returned
 * (an OpenAI {@code chat.completion}, an Anthropic {@code message}), keeping the unknown top-level
 * fields of the chunks and every content block.
 *
 * <p>Times are measured from the start of the call (retries and waits included) on the client's
 * {@link dev.llmpool.time.Ticker}.
 *
 * @param text the answer's text (for OpenAI the first choice's content; for Anthropic every text
 *     block, joined); empty when the model only called tools
 * @param toolCalls the tool calls the model made, in order
 * @param id the provider's id of the completion or message, or null when absent
 * @param model the model that answered, as the provider names it, or null when absent
 * @param finishReason why generation stopped, in the provider's words ({@code stop}, {@code
 *     length}, {@code tool_calls}, {@code end_turn}, {@code max_tokens}, {@code tool_use}...), or
 *     null when absent
 * @param usage token counts, or null when the server sent none (a stream from a server that ignores
 *     {@code stream_options.include_usage})
 * @param rateLimits the rate-limit headers of the successful response
 * @param requestId the provider's request id ({@code x-request-id}, {@code request-id}), or null
 * @param latency from the start of the call to the end of the response
 * @param timeToFirstByte from the start of the call to the successful response's headers
 * @param timeToFirstToken for a stream, from the start of the call to the first text delivered to
 *     the listener; null for a non-streamed call, or a stream that delivered no text
 * @param attempts how many times the request was sent: 1, plus one per retry
 * @param rawJson the whole response as JSON text (see above)
 */
public record ChatResponse(
    String text,
    List<ToolCall> toolCalls,
    @Nullable String id,
    @Nullable String model,
    @Nullable String finishReason,
    @Nullable Usage usage,
    RateLimits rateLimits,
    @Nullable String requestId,
    Duration latency,
    Duration timeToFirstByte,
    @Nullable Duration timeToFirstToken,
    int attempts,
    String rawJson) {

  /** Checks the parts. */
  public ChatResponse {
    Objects.requireNonNull(text, "text");
    toolCalls = List.copyOf(toolCalls);
    Objects.requireNonNull(rateLimits, "rateLimits");
    Objects.requireNonNull(latency, "latency");
    Objects.requireNonNull(timeToFirstByte, "timeToFirstByte");
    Objects.requireNonNull(rawJson, "rawJson");
    if (attempts < 1) {
      throw new IllegalArgumentException("attempts must be at least 1, got " + attempts);
    }
  }

  /** A short summary: the text's length rather than the text, no raw JSON. */
  @Override
  public String toString() {
    return "ChatResponse{id="
        + id
        + ", model="
        + model
        + ", finishReason="
        + finishReason
        + ", text="
        + text.length()
        + " chars"
        + (toolCalls.isEmpty() ? "" : ", toolCalls=" + toolCalls.size())
        + ", usage="
        + usage
        + ", requestId="
        + requestId
        + ", attempts="
        + attempts
        + ", latency="
        + latency
        + ", timeToFirstByte="
        + timeToFirstByte
        + (timeToFirstToken == null ? "" : ", timeToFirstToken=" + timeToFirstToken)
        + "}";
  }
}
