/**
 * The pooled HTTP client: requests, responses, streamed bodies. Most users call the LLM clients in
 * {@code dev.llmpool.llm} instead; this is for other endpoints and for integrations.
 */
@NullMarked
package dev.llmpool.http;

import org.jspecify.annotations.NullMarked;
