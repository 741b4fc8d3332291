package dev.llmpool.llm;

/**
 * How an OpenAI-compatible server wants the API key (see {@code LlmPool.Builder#openAiAuth}).
 * Anthropic always takes it in {@code x-api-key}.
 */
public enum OpenAiAuth {
  /**
   * {@code api-key: <key>} for Azure OpenAI hosts ({@code *.openai.azure.com}, {@code
   * *.cognitiveservices.azure.com}, {@code *.services.ai.azure.com}), {@code Authorization: Bearer
   * <key>} everywhere else. The default.
   */
  AUTO,
  /** {@code Authorization: Bearer <key>}: OpenAI, vLLM, LiteLLM, most gateways. */
  BEARER,
  /** {@code api-key: <key>}: Azure OpenAI, and gateways in front of it. */
  API_KEY_HEADER
}
