package dev.llmpool.pool;

import dev.llmpool.Origin;
import java.util.concurrent.CompletableFuture;
import org.jspecify.annotations.Nullable;

/**
 * Opens connections for the pool; the transport implements it.
 *
 * <p>{@link #open} must not block: it starts the work (DNS, TCP, TLS, ALPN, for HTTP/2 the preface)
 * and returns at once. The future completes with a connection ready to carry an exchange, or
 * exceptionally with an {@link dev.llmpool.LlmPoolException} naming the phase (dns, connect, tls)
 * and the origin; it always completes, within the connect timeout the factory was built with. If
 * the pool cancels the future, the factory abandons the attempt and closes anything it opened.
 */
public interface ConnectionFactory {

  /**
   * Starts opening a connection to {@code origin}.
   *
   * @param listener where the connection reports later changes of state
   * @param cause what the acquiring call passed to the pool (for the transport's event listener:
   *     connect events belong to the call that caused the connect); null for pre-warm
   */
  CompletableFuture<Connection> open(
      Origin origin, ConnectionListener listener, @Nullable Object cause);

  /**
   * Whether a connection to {@code origin} will probably be multiplexed (HTTP/2): HTTP/2 was
   * enabled and the origin speaks it, or is assumed to. While such a connection is being opened,
   * further calls to the origin wait for it instead of each opening its own; once one connection to
   * the origin is open, the pool goes by what it learnt and asks no more.
   *
   * <p>Called under the pool's lock: must be quick and must not call back into the pool.
   */
  default boolean expectsMultiplexing(Origin origin) {
    return false;
  }
}
