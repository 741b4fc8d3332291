package dev.llmpool.pool;

import dev.llmpool.Origin;

/**
 * A connection as the pool sees it; the transport implements it. The pool knows nothing of sockets
 * or HTTP bytes: only whether the connection can carry another exchange.
 *
 * <p>Threading: every method may be called from any thread, must not block, and must be cheap (the
 * pool calls them on its hot path, possibly under its lock: they must not call back into the pool).
 * State changes the pool must hear of (a new stream limit, GOAWAY, close) are pushed to the {@link
 * ConnectionListener} given at {@link ConnectionFactory#open}.
 */
public interface Connection {

  /** Where the connection goes. */
  Origin origin();

  /** True for HTTP/2 (many exchanges at once), false for HTTP/1.1. Fixed once connected. */
  boolean isMultiplexed();

  /**
   * How many exchanges this connection may carry at once now: 1 for HTTP/1.1; for HTTP/2 the peer's
   * {@code SETTINGS_MAX_CONCURRENT_STREAMS} (a small assumed value until the peer's first SETTINGS
   * arrives); 0 once it must take no new exchange (GOAWAY received, closing). The value may change
   * at any time; the transport then calls {@link ConnectionListener#capacityChanged}.
   */
  int maxConcurrentExchanges();

  /**
   * False while {@link #maxConcurrentExchanges()} is a guess: an HTTP/2 connection handed over
   * before the peer's first SETTINGS frame (so that the call which opened it need not wait a round
   * trip for them). The pool opens no further connection to the origin while one is still learning
   * its limit: the limit it learns will usually serve the waiting calls. When this turns true the
   * transport calls {@link ConnectionListener#capacityChanged}.
   */
  default boolean capacityKnown() {
    return true;
  }

  /**
   * False once the transport knows the connection is dead or must not be reused (closed by the
   * peer, an I/O error, GOAWAY). A true answer is a hint, not a promise: the connection may die a
   * moment later, which the HTTP layer handles by retrying a request that provably was not sent.
   */
  boolean isHealthy();

  /**
   * The server's own idle limit learnt from the protocol (HTTP/1.1 {@code Keep-Alive: timeout=N}),
   * in nanoseconds, or {@link Long#MAX_VALUE} when it stated none. The pool retires an idle
   * connection before this, with a safety margin, so it never reuses one the server is about to
   * close.
   */
  default long serverIdleTimeoutNanos() {
    return Long.MAX_VALUE;
  }

  /**
   * Closes the connection now: in-flight exchanges fail. Idempotent, asynchronous, never throws.
   * The transport then calls {@link ConnectionListener#closed}.
   */
  void close();
}
