package dev.llmpool.langchain4j;

import dev.langchain4j.http.client.HttpClientBuilderFactory;

/**
 * The entry LangChain4j finds with {@link java.util.ServiceLoader} (registered in {@code
 * META-INF/services/dev.langchain4j.http.client.HttpClientBuilderFactory}): with this module on the
 * class path, and no other HTTP client module, every LangChain4j model that builds its HTTP client
 * through {@code HttpClientBuilderLoader} (OpenAI, Anthropic, Ollama...) uses llmpool. Where the
 * builders get their pool: see {@link LlmPoolHttpClientBuilder}.
 */
public final class LlmPoolHttpClientBuilderFactory implements HttpClientBuilderFactory {
  /** Called by {@link java.util.ServiceLoader}. */
  public LlmPoolHttpClientBuilderFactory() {}

  @Override
  public LlmPoolHttpClientBuilder create() {
    return LlmPoolHttpClient.builder();
  }
}
