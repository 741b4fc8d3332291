package dev.llmpool.llm;

/**
 * Hears every chat call once, when it ends (success or failure), with what a metrics or tracing
 * system records for it: provider, model, token usage, duration, time to first chunk, attempts,
 * error type and rate limits (see {@link ChatObservation}). Set one per pool with {@code
 * LlmPool.Builder#chatObserver}; without one, nothing is measured or allocated for it.
 *
 * <pre>{@code
 * LlmPool.builder().chatObserver(o -> log.info("{} {} {} ms, {} tokens out",
 *     o.provider(), o.responseModel(), o.duration().toMillis(),
 *     o.usage() == null ? "?" : o.usage().outputTokens()));
 * }</pre>
 *
 * <p>Called on the thread that ended the call: an llmpool I/O thread, the scheduler's thread, the
 * pool's chat executor, or the caller's thread for a blocking call; for an async call it may run
 * just after the returned future completed. It must be quick and must not block; an exception it
 * throws is logged and ignored (the call's outcome does not change). It sees no message, no header
 * value and no key.
 */
@FunctionalInterface
public interface ChatObserver {

  /** A chat call ended; called exactly once per call. */
  void chatEnded(ChatObservation observation);
}
