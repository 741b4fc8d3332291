/**
 * LLM APIs on the pooled HTTP client: OpenAI-compatible chat completions and Anthropic messages,
 * complete and stream, typed errors, retries and rate limits.
 */
@NullMarked
package dev.llmpool.llm;

import org.jspecify.annotations.NullMarked;
