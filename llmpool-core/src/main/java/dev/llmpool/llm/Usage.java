package dev.llmpool.llm;

import java.io.Serializable;

/**
 * Token counts of one call, as the provider reported them, in one shape for both APIs.
 *
 * <p>{@link #inputTokens()} is every input token the prompt cost, cached ones included: for OpenAI
 * that is {@code prompt_tokens}; for Anthropic it is {@code input_tokens + cache_read_input_tokens
 * + cache_creation_input_tokens}, so the two compare. A count the provider did not send is 0.
 *
 * @param inputTokens input (prompt) tokens, cached ones included
 * @param outputTokens output (completion) tokens, reasoning tokens included
 * @param totalTokens input plus output (the provider's figure when it sends one)
 * @param cachedInputTokens input tokens read from the provider's prompt cache (OpenAI {@code
 *     prompt_tokens_details.cached_tokens}, Anthropic {@code cache_read_input_tokens})
 * @param cacheCreationInputTokens input tokens written to the prompt cache (Anthropic {@code
 *     cache_creation_input_tokens}; 0 for OpenAI)
 * @param reasoningTokens output tokens spent on reasoning (OpenAI {@code
 *     completion_tokens_details.reasoning_tokens}; 0 when not reported)
 */
public record Usage(
    long inputTokens,
    long outputTokens,
    long totalTokens,
    long cachedInputTokens,
    long cacheCreationInputTokens,
    long reasoningTokens)
    implements Serializable {

  /** Checks that no count is negative. */
  public Usage {
    if (inputTokens < 0
        || outputTokens < 0
        || totalTokens < 0
        || cachedInputTokens < 0
        || cacheCreationInputTokens < 0
        || reasoningTokens < 0) {
      throw new IllegalArgumentException("token counts cannot be negative");
    }
  }
}
