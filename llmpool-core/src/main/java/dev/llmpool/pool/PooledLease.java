package dev.llmpool.pool;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.lang.ref.WeakReference;
import org.jspecify.annotations.Nullable;

/**
 * The pool's {@link Lease}: one slot of one {@link PooledConnection}, recycled (see {@link Lease}).
 *
 * <p>Fields marked guarded are written only under the pool's lock. The acquiring thread reads
 * {@link #connection()}, {@link #reused()} and {@link #waitedNanos()} after getting the lease from
 * the pool, which happened under the lock or through a completed future, so it sees them.
 */
final class PooledLease implements Lease {
  final PooledConnection owner;
  private final Connection connection;

  static final int FREE = 0;
  static final int LEASED = 1;
  static final int ENDING = 2;
  static final int ENDING_DISCARD = 3;

  static final VarHandle STATE;

  static {
    try {
      STATE = MethodHandles.lookup().findVarHandle(PooledLease.class, "state", int.class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  /**
   * FREE, then LEASED (set under the lock when handed out), then ENDING or ENDING_DISCARD (set by
   * the one end that wins the compare-and-set, without the lock), then FREE again (under the lock
   * once the end is finished).
   */
  volatile int state;

  /** Link in the pool's stack of ends handed over to the lock holder. */
  @Nullable PooledLease nextEnd;

  // Guarded by pool.lock.
  int index;
  int generation;
  boolean reused;
  long waitedNanos;
  @Nullable Throwable acquiredAt;

  /** Written by the holder without the lock, read under it: volatile. */
  volatile @Nullable OwnerRef ownerRef;

  PooledLease(PooledConnection owner, Connection connection, int index) {
    this.owner = owner;
    this.connection = connection;
    this.index = index;
  }

  @Override
  public Connection connection() {
    return connection;
  }

  @Override
  public boolean reused() {
    return reused;
  }

  @Override
  public long waitedNanos() {
    return waitedNanos;
  }

  @Override
  public void release() {
    owner.pool.end(this, false, ConnectionPool.NO_TIME);
  }

  @Override
  public void release(long endNanos) {
    owner.pool.end(this, false, endNanos);
  }

  @Override
  public void discard() {
    owner.pool.end(this, true, ConnectionPool.NO_TIME);
  }

  @Override
  public void trackOwner(Object holder) {
    owner.pool.trackOwner(this, holder, null);
  }

  @Override
  public void trackOwner(Object holder, Runnable abandon) {
    owner.pool.trackOwner(this, holder, abandon);
  }

  @Override
  public String toString() {
    return "Lease[" + owner + "]";
  }

  /**
   * Weakly refers to the lease's holder; strongly reachable through the lease (itself reachable
   * from its connection) so that it is enqueued when the holder is collected. {@link #generation}
   * tells a stale reference from the current one, as the lease may have been recycled.
   */
  static final class OwnerRef extends WeakReference<Object> {
    final PooledLease lease;
    final int generation;

    /** Ends the exchange from the transport's side when the holder is collected; or null. */
    final @Nullable Runnable abandon;

    OwnerRef(
        Object holder,
        PooledLease lease,
        int generation,
        ConnectionPool pool,
        @Nullable Runnable abandon) {
      super(holder, pool.leakQueue);
      this.lease = lease;
      this.generation = generation;
      this.abandon = abandon;
    }
  }
}
