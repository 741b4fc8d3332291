package dev.llmpool.pool;

import java.util.concurrent.CompletableFuture;
import org.jspecify.annotations.Nullable;

/**
 * A call waiting for a connection: the future its caller holds, its place in its origin's FIFO, and
 * its deadline task (this object, as a {@link Runnable}, so a wait costs one allocation less).
 *
 * <p>State machine, changed only under the pool's lock: {@code WAITING} to exactly one of {@code
 * SERVED}, {@code TIMED_OUT}, {@code CANCELLED}, {@code FAILED}, {@code REJECTED}, {@code CLOSED};
 * the change and the removal from the queue happen together, so a waiter is removed exactly once.
 * The future is completed after the lock is released. A lease handed to a waiter whose future was
 * meanwhile completed by its caller (cancel, {@code orTimeout}) goes straight back to the pool.
 *
 * <p>The caller may end the wait through the future's own {@code cancel}, {@code complete} or
 * {@code completeExceptionally} (which {@code orTimeout} uses): each first takes the waiter out of
 * the queue. {@code obtrudeValue} and {@code obtrudeException} bypass that and must not be used.
 */
final class Waiter extends CompletableFuture<Lease> {
  static final int WAITING = 0;
  static final int SERVED = 1;
  static final int TIMED_OUT = 2;
  static final int CANCELLED = 3;
  static final int FAILED = 4;
  static final int REJECTED = 5;
  static final int CLOSED = 6;

  final ConnectionPool pool;
  final SubPool sub;
  final long seq;
  final long startNanos;
  final long timeoutNanos;

  /** When the wait ends with a timeout (ticker nanos); Long.MAX_VALUE for none. */
  final long deadline;

  final @Nullable Object cause;

  // Guarded by pool.lock.
  int state = WAITING;
  boolean linked;
  @Nullable Waiter prev;
  @Nullable Waiter next;

  /** The connect started on this call's behalf, while both last; it reports its failure here. */
  @Nullable PooledConnection connect;

  /** With leak tracking: the stack of the caller that began this wait; written before queued. */
  @Nullable Throwable acquiredAt;

  Waiter(
      ConnectionPool pool,
      SubPool sub,
      long seq,
      long startNanos,
      long timeoutNanos,
      @Nullable Object cause) {
    this.pool = pool;
    this.sub = sub;
    this.seq = seq;
    this.startNanos = startNanos;
    this.timeoutNanos = timeoutNanos;
    this.deadline =
        timeoutNanos == Long.MAX_VALUE
            ? Long.MAX_VALUE
            : ConnectionPool.saturatedAdd(startNanos, Math.max(0L, timeoutNanos));
    this.cause = cause;
  }

  @Override
  public boolean cancel(boolean mayInterruptIfRunning) {
    pool.abandon(this);
    return super.cancel(mayInterruptIfRunning);
  }

  @Override
  public boolean complete(Lease value) {
    pool.abandon(this);
    return super.complete(value);
  }

  @Override
  public boolean completeExceptionally(Throwable ex) {
    pool.abandon(this);
    return super.completeExceptionally(ex);
  }

  /** Completes with the lease, outside the lock; false if the caller had completed it already. */
  boolean deliver(Lease lease) {
    return super.complete(lease);
  }

  /** Fails the wait, outside the lock. */
  void fail(Throwable error) {
    super.completeExceptionally(error);
  }

  @Override
  public String toString() {
    return "Waiter#" + seq + "(" + sub.origin + ", state=" + state + ")";
  }
}
