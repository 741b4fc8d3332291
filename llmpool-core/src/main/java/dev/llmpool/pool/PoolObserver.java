package dev.llmpool.pool;

import dev.llmpool.Origin;
import dev.llmpool.PoolStats.CloseReason;
import org.jspecify.annotations.Nullable;

/**
 * Hears what the pool does, for the metrics layer. Every method has an empty default; {@link #NONE}
 * hears nothing, and with it the pool allocates nothing for events.
 *
 * <p>Called after the pool's lock is released, on whichever thread caused the event (a caller, an
 * I/O thread, the scheduler): methods must be quick and must not block. A method that throws is
 * logged and ignored.
 */
public interface PoolObserver {

  /** The observer that hears nothing. */
  PoolObserver NONE = new PoolObserver() {};

  /** A connection finished opening and joined the pool. */
  default void connectionOpened(Origin origin, boolean multiplexed) {}

  /** A connection left the pool. */
  default void connectionClosed(Origin origin, CloseReason reason) {}

  /** Opening a connection failed. */
  default void connectFailed(Origin origin, Throwable error) {}

  /** A call that had to wait got its lease after {@code waitedNanos}. */
  default void acquireWaited(Origin origin, long waitedNanos) {}

  /** A call waited {@code waitedNanos} and failed with a {@code PoolTimeoutException}. */
  default void acquireTimedOut(Origin origin, long waitedNanos) {}

  /** A call was refused at once with a {@code PoolFullException}. */
  default void rejected(Origin origin) {}

  /**
   * A lease was reclaimed because its owner was garbage-collected before ending it.
   *
   * @param acquiredAt the stack of the acquisition when leak tracking is on, else null
   */
  default void leakDetected(Origin origin, @Nullable Throwable acquiredAt) {}
}
