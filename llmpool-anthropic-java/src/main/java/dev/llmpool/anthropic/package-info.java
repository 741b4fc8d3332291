/**
 * llmpool as the HTTP client of the official Anthropic Java SDK: {@link
 * dev.llmpool.anthropic.LlmPoolAnthropicHttpClient} implements {@code
 * com.anthropic.core.http.HttpClient} on an {@link dev.llmpool.LlmPool}.
 */
@NullMarked
package dev.llmpool.anthropic;

import org.jspecify.annotations.NullMarked;
