package dev.llmpool.http.internal;

import dev.llmpool.Origin;
import dev.llmpool.pool.Lease;
import java.util.concurrent.CompletableFuture;
import org.jspecify.annotations.Nullable;

/**
 * Where calls get their connections: the pool's acquire operations, seen by the engine. The pool's
 * {@code ConnectionPool} provides both; the engine does not depend on the pool's class itself.
 */
public interface LeaseSource {
  /** A lease that is free right now, or null (never waits, never opens). */
  @Nullable Lease tryAcquire(Origin origin);

  /**
   * A lease, waiting at most {@code timeoutNanos}; fails with the pool's or the connect's {@link
   * dev.llmpool.LlmPoolException}.
   */
  CompletableFuture<Lease> acquire(Origin origin, long timeoutNanos, @Nullable Object cause);
}
