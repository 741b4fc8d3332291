/**
 * Machinery of the LLM layer, not an API: the SSE parser, the provider codecs (OpenAI-compatible
 * chat completions, Anthropic messages), error mapping, retry and rate-limit logic, and the {@link
 * dev.llmpool.llm.internal.LlmHttp} seam through which a chat client sends its requests.
 */
@NullMarked
package dev.llmpool.llm.internal;

import org.jspecify.annotations.NullMarked;
