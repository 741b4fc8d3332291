package dev.llmpool.llm;

/**
 * Hears a streamed answer as it arrives. The common case is a lambda: {@code chat.stream(messages,
 * token -> System.out.print(token))}; override the other methods for more.
 *
 * <p>Calls come one at a time, in the order of the stream, never concurrently. For the blocking
 * {@link ChatClient#stream} they run on the calling thread; for {@link ChatClient#streamAsync} on
 * the thread that delivered the bytes (an llmpool I/O thread unless the client was given an
 * executor), so keep them quick there. A listener that throws ends the call: the stream is closed
 * and the call fails with that exception, unchanged.
 *
 * <p>Once any text, reasoning or tool call has reached the listener, the call is never retried (the
 * listener would see the answer twice); a failure after that point is the caller's to handle.
 */
@FunctionalInterface
public interface StreamListener {

  /** A piece of the answer's text, in order; joined they make {@link ChatResponse#text()}. */
  void onText(String text);

  /**
   * A piece of the model's visible reasoning: Anthropic {@code thinking_delta}, or the {@code
   * reasoning_content}/{@code reasoning} delta of OpenAI-compatible servers (vLLM, DeepSeek,
   * Ollama). Ignored by default.
   */
  default void onReasoning(String text) {}

  /** A tool call, once its arguments are complete. Ignored by default. */
  default void onToolCall(ToolCall toolCall) {}

  /**
   * Every server-sent event as received, before it is interpreted, for what llmpool does not model
   * (citations, new event types). {@code type} is the SSE event name ({@code "message"} when the
   * server gave none, as for OpenAI); {@code data} its data. Ignored by default; a listener that
   * does not override this method costs nothing for it.
   */
  default void onEvent(String type, String data) {}
}
