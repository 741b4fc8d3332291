package dev.llmpool.pool;

import org.jspecify.annotations.Nullable;

/**
 * How the transport tells the pool that a connection's state changed on its own. Implemented by the
 * pool; the transport receives it at {@link ConnectionFactory#open}.
 *
 * <p>Methods may be called from any thread (usually the connection's event loop), are quick, and
 * are safe to call more than once and after the pool was closed.
 */
public interface ConnectionListener {

  /**
   * {@link Connection#maxConcurrentExchanges()} changed (an HTTP/2 SETTINGS frame). When it grew,
   * waiters may now be served on this connection; when it shrank below the streams in flight, no
   * new exchange goes to it until enough have finished.
   */
  void capacityChanged(Connection connection);

  /**
   * The connection takes no new exchange (HTTP/2 GOAWAY, HTTP/1.1 {@code Connection: close}): the
   * in-flight exchanges finish, then the pool closes it.
   */
  void noNewExchanges(Connection connection);

  /** The connection is closed, by either side: the pool forgets it and frees its slot. */
  void closed(Connection connection);

  /**
   * The connection is closed because of {@code error} (an I/O or protocol error), or cleanly when
   * it is null. The pool counts the close under {@code error} rather than {@code server-closed}.
   * Transports that know the cause call this one; the default forgets the cause.
   */
  default void closed(Connection connection, @Nullable Throwable error) {
    closed(connection);
  }
}
