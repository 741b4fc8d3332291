package dev.llmpool.llm;

import java.util.Objects;

/**
 * A tool (function) call the model asked for: an OpenAI {@code tool_calls[]} entry or an Anthropic
 * {@code tool_use} content block, in one shape. Send the result back with {@link
 * Message#toolResult(String, String)} using {@link #id()}.
 *
 * @param id the provider's id of the call, used to match its result
 * @param name the tool's name
 * @param argumentsJson the arguments as JSON text, as the model wrote them (OpenAI sends a string
 *     that is usually, but not always, valid JSON; Anthropic sends an object, written here
 *     compactly); {@code "{}"} when the model gave none
 */
public record ToolCall(String id, String name, String argumentsJson) {

  /** Checks that no part is null. */
  public ToolCall {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(argumentsJson, "argumentsJson");
  }
}
