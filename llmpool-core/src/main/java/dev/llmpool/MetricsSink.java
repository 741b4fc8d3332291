package dev.llmpool;

import dev.llmpool.llm.ChatObserver;
import org.jspecify.annotations.Nullable;

/**
 * What a metrics library plugs into a pool, in one piece: {@code llmpool-micrometer}'s {@code
 * LlmPoolMetrics} is one. Set it with {@link LlmPool.Builder#metrics(MetricsSink)}; the pool then
 * tells it when it starts and closes, gives it every call's events (besides the pool's own {@link
 * LlmPool.Builder#eventListener event listener}), every connection's open and close, and every chat
 * call's outcome (besides the pool's own {@link LlmPool.Builder#chatObserver chat observer}).
 * Gauges read {@link LlmPool#stats()}.
 *
 * <p>Every method has an empty default. Event methods are called on llmpool's I/O threads: they
 * must be quick and must not block; one that throws is logged and ignored. Like {@link
 * EventListener}, a sink sees no header value, no body and no query string, so it cannot put a
 * secret or a prompt into a metric by accident.
 */
public interface MetricsSink {

  /**
   * The pool was built: from now on {@code pool.stats()} may be read (for gauges). Called once per
   * pool, before its first call, on the thread that built it.
   */
  default void poolStarted(LlmPool pool) {}

  /** The pool has closed: a sink may remove what it registered for it. Called once per pool. */
  default void poolClosed(LlmPool pool) {}

  /**
   * The listener that hears every call of the pool. Asked once, when the pool is built; {@link
   * EventListener#NONE} (the default) hears nothing and costs nothing.
   */
  default EventListener eventListener() {
    return EventListener.NONE;
  }

  /**
   * Whether the sink wants {@link #connectionOpened} and {@link #connectionClosed}. Asked once,
   * when the pool is built; false (the default) spares the pool tracking each connection for it.
   */
  default boolean wantsConnectionEvents() {
    return false;
  }

  /** A connection finished opening (TCP, TLS, HTTP/2 preface) and was handed to the pool. */
  default void connectionOpened(EventListener.ConnectionInfo connection) {}

  /**
   * A connection closed, for whatever reason, {@code lifetimeNanos} after it was handed to the
   * pool. Why it closed is counted in {@link PoolStats#closed(PoolStats.CloseReason)}.
   */
  default void connectionClosed(EventListener.ConnectionInfo connection, long lifetimeNanos) {}

  /**
   * The observer that hears every chat call of the pool when it ends (tokens, duration, time to
   * first chunk, rate limits), or null (the default) for none, which costs nothing. Asked once,
   * when the pool is built; called besides the pool's own {@link LlmPool.Builder#chatObserver},
   * under the same contract (quick, non-blocking, exceptions logged and ignored).
   */
  default @Nullable ChatObserver chatObserver() {
    return null;
  }
}
