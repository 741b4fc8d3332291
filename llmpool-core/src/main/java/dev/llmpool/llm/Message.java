package dev.llmpool.llm;

import dev.llmpool.llm.internal.Json;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * One message of a conversation. Immutable; build with the factories ({@link #user(String)}, {@link
 * #system(String)}, {@link #assistant(String)}, {@link #toolResult(String, String)}, {@link
 * #ofJson(Role, String)}).
 *
 * <p>Content is either plain {@link #text()} (the common case, encoded for each provider) or {@link
 * #contentJson()}: the provider's own content value passed through verbatim, for multi-part content
 * (images, documents, cache-control blocks). Exactly one of the two is set, except that an
 * assistant message carrying {@link #toolCalls()} may have no content at all.
 *
 * <p>How providers see the roles: for OpenAI-compatible servers each message is one entry of {@code
 * messages}, a tool result is a {@code "tool"} message. For Anthropic, {@link Role#SYSTEM} messages
 * are lifted into the top-level {@code system} field, and tool results become {@code tool_result}
 * blocks of a user message (consecutive results share one).
 *
 * @param role who speaks
 * @param text the plain text content, or null when {@code contentJson} is used
 * @param contentJson the content as raw JSON (a string, or an array of content parts in the
 *     provider's format), or null
 * @param toolCallId for {@link Role#TOOL}: the id of the call this message answers; else null
 * @param toolCalls for {@link Role#ASSISTANT}: the tool calls the model made; else empty
 */
public record Message(
    Role role,
    @Nullable String text,
    @Nullable String contentJson,
    @Nullable String toolCallId,
    List<ToolCall> toolCalls) {

  /** Who speaks. */
  public enum Role {
    /** Instructions for the model. */
    SYSTEM,
    /** The user. */
    USER,
    /** The model. */
    ASSISTANT,
    /** The result of a tool call, answering an assistant's {@link ToolCall}. */
    TOOL;

    /** The lower-case name used on the wire ({@code "user"}, ...). */
    public String wireName() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  /**
   * Checks the combination of parts.
   *
   * @throws IllegalArgumentException when both or neither content form is given (unless an
   *     assistant message has tool calls), when {@code contentJson} is not valid JSON, when a tool
   *     message has no {@code toolCallId} or another role has one, or when a non-assistant message
   *     has tool calls
   */
  public Message {
    Objects.requireNonNull(role, "role");
    toolCalls = List.copyOf(toolCalls);
    if (text != null && contentJson != null) {
      throw new IllegalArgumentException("a message has either text or contentJson, not both");
    }
    if (text == null && contentJson == null && toolCalls.isEmpty()) {
      throw new IllegalArgumentException("a " + role.wireName() + " message needs content");
    }
    if (contentJson != null) {
      Json.parse(contentJson, "message contentJson");
    }
    if ((role == Role.TOOL) != (toolCallId != null)) {
      throw new IllegalArgumentException(
          role == Role.TOOL
              ? "a tool message needs the toolCallId it answers"
              : "only a tool message has a toolCallId");
    }
    if (!toolCalls.isEmpty() && role != Role.ASSISTANT) {
      throw new IllegalArgumentException("only an assistant message has tool calls");
    }
  }

  /** A system message (instructions). */
  public static Message system(String text) {
    return new Message(Role.SYSTEM, Objects.requireNonNull(text, "text"), null, null, List.of());
  }

  /** A user message. */
  public static Message user(String text) {
    return new Message(Role.USER, Objects.requireNonNull(text, "text"), null, null, List.of());
  }

  /** An assistant message, e.g. an earlier answer of the model. */
  public static Message assistant(String text) {
    return new Message(Role.ASSISTANT, Objects.requireNonNull(text, "text"), null, null, List.of());
  }

  /**
   * An assistant message that made tool calls, to put back into the conversation before the tool
   * results.
   *
   * @param text the text the model wrote alongside the calls, or null (an empty text is dropped
   *     when there are calls)
   */
  public static Message assistant(@Nullable String text, List<ToolCall> toolCalls) {
    boolean dropText = text != null && text.isEmpty() && !toolCalls.isEmpty();
    return new Message(Role.ASSISTANT, dropText ? null : text, null, null, toolCalls);
  }

  /** The model's answer as the next message of the conversation: its text and its tool calls. */
  public static Message assistant(ChatResponse response) {
    return assistant(response.text(), response.toolCalls());
  }

  /** The result of the tool call {@code toolCallId}, as text. */
  public static Message toolResult(String toolCallId, String content) {
    return new Message(
        Role.TOOL,
        Objects.requireNonNull(content, "content"),
        null,
        Objects.requireNonNull(toolCallId, "toolCallId"),
        List.of());
  }

  /**
   * A message whose content is the provider's own JSON (for a tool result, use the record's
   * constructor with a {@code toolCallId}).
   *
   * @param contentJson a JSON string or an array of content parts, passed through verbatim
   */
  public static Message ofJson(Role role, String contentJson) {
    return new Message(
        role, null, Objects.requireNonNull(contentJson, "contentJson"), null, List.of());
  }

  /** Short form without the content, which may be large or private. */
  @Override
  public String toString() {
    int length = text != null ? text.length() : contentJson != null ? contentJson.length() : 0;
    return "Message{"
        + role.wireName()
        + (contentJson != null ? ", json " : ", ")
        + length
        + " chars"
        + (toolCalls.isEmpty() ? "" : ", " + toolCalls.size() + " tool calls")
        + (toolCallId != null ? ", answers " + toolCallId : "")
        + "}";
  }
}
