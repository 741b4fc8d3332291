package dev.llmpool.llm.internal;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * A provider's error object that arrived after a 200: an SSE {@code error} event (Anthropic), a
 * {@code data: {"error": ...}} chunk (OpenAI-compatible servers such as vLLM and LiteLLM), or an
 * error body sent with a 2xx status. Thrown by the codecs, turned into an {@link
 * dev.llmpool.llm.ApiStatusException} by the chat call. Internal: never reaches a user.
 */
public final class ProviderErrorEvent extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final transient JsonNode root;
  private final String raw;

  /**
   * @param root the parsed event data or body
   * @param raw the same as text
   */
  public ProviderErrorEvent(JsonNode root, String raw) {
    super("provider error event", null, false, false);
    this.root = root;
    this.raw = raw;
  }

  /** The parsed event data or body. */
  public JsonNode root() {
    return root;
  }

  /** The event data or body as text. */
  public String raw() {
    return raw;
  }
}
