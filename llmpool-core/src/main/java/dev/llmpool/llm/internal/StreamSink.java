package dev.llmpool.llm.internal;

import dev.llmpool.llm.ToolCall;

/** Where a {@link StreamDecoder} puts what the caller should see, as it arrives. */
public interface StreamSink {
  /** A piece of the answer's text (never empty). */
  void text(String text);

  /** A piece of visible reasoning (never empty). */
  void reasoning(String text);

  /** A complete tool call. */
  void toolCall(ToolCall call);
}
