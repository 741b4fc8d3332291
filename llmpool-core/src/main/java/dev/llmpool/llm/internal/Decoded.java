package dev.llmpool.llm.internal;

import dev.llmpool.llm.ToolCall;
import dev.llmpool.llm.Usage;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * A successful answer as a codec decoded it, before the chat call adds timings and headers.
 *
 * @param text the answer's text
 * @param toolCalls the tool calls
 * @param id the provider's id
 * @param model the model
 * @param finishReason the provider's finish or stop reason
 * @param usage token counts, or null
 * @param rawJson the whole response as JSON text
 */
public record Decoded(
    String text,
    List<ToolCall> toolCalls,
    @Nullable String id,
    @Nullable String model,
    @Nullable String finishReason,
    @Nullable Usage usage,
    String rawJson) {}
