/**
 * llmpool: warm, bounded, observable HTTP connections to LLM APIs. The types a user touches are
 * here ({@code LlmPool}, {@link dev.llmpool.Timeouts}, the limits, the statistics, {@link
 * dev.llmpool.EventListener} and the exceptions, all subclasses of {@link
 * dev.llmpool.LlmPoolException}); the LLM clients are in {@code dev.llmpool.llm} and the raw HTTP
 * API in {@code dev.llmpool.http}.
 */
@NullMarked
package dev.llmpool;

import org.jspecify.annotations.NullMarked;
