package dev.llmpool.llm.internal;

import java.io.IOException;

/**
 * Folds one attempt's stream of server-sent events into what the listener hears and into the final
 * answer. One per attempt; not thread-safe (fed by the chat call, one event at a time).
 */
public interface StreamDecoder {

  /**
   * Handles one event.
   *
   * @throws ProviderErrorEvent for an error event
   * @throws IOException when the event's data is not the JSON the API promises
   */
  void onEvent(SseEvent event, StreamSink sink) throws IOException;

  /** True once the stream's end marker arrived ({@code [DONE]}, {@code message_stop}). */
  boolean finished();

  /**
   * True when a stream that ended without its end marker, but between events, may still count as
   * complete (an OpenAI-compatible server that sent a finish reason and then closed without {@code
   * [DONE]}).
   */
  boolean completeWithoutEndMarker();

  /**
   * The answer so far, in the non-streamed response's shape; delivers any tool call not yet
   * delivered to {@code sink}.
   */
  Decoded finish(StreamSink sink);
}
