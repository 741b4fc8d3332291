/**
 * llmpool as LangChain4j's HTTP client: {@link dev.llmpool.langchain4j.LlmPoolHttpClient}
 * implements the {@code langchain4j-http-client} SPI on an {@link dev.llmpool.LlmPool}, found by
 * {@link java.util.ServiceLoader} through {@link
 * dev.llmpool.langchain4j.LlmPoolHttpClientBuilderFactory}.
 */
@NullMarked
package dev.llmpool.langchain4j;

import org.jspecify.annotations.NullMarked;
