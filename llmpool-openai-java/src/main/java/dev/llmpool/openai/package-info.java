/**
 * llmpool as the HTTP client of the official OpenAI Java SDK: {@link
 * dev.llmpool.openai.LlmPoolOpenAiHttpClient} implements {@code com.openai.core.http.HttpClient} on
 * an {@link dev.llmpool.LlmPool}.
 */
@NullMarked
package dev.llmpool.openai;

import org.jspecify.annotations.NullMarked;
