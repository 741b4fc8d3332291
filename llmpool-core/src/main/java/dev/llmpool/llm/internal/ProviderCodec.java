package dev.llmpool.llm.internal;

import dev.llmpool.llm.ChatOptions;
import dev.llmpool.llm.Message;
import java.io.IOException;
import java.util.List;

/**
 * One LLM API's wire format: request body, whole response, stream events. Stateless and
 * thread-safe; stream state lives in the {@link StreamDecoder}s it makes.
 */
public interface ProviderCodec {

  /** {@code "openai"} or {@code "anthropic"}, for messages. */
  String name();

  /**
   * The request body.
   *
   * @param options the call's options, merged over the client's defaults
   * @throws IllegalArgumentException when the request cannot be expressed (no model, tool call
   *     arguments that must be an object and are not)
   */
  byte[] encode(List<Message> messages, ChatOptions options, boolean stream);

  /**
   * Decodes a whole 2xx body.
   *
   * @throws ProviderErrorEvent when the body is an error object sent with a 2xx status
   * @throws IOException when the body is not the JSON the API promises
   */
  Decoded decode(byte[] body) throws IOException;

  /** A decoder for one attempt's stream. */
  StreamDecoder newStreamDecoder();
}
