package dev.llmpool.pool;

import dev.llmpool.PoolStats.CloseReason;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import org.jspecify.annotations.Nullable;

/**
 * The pool's record of one connection, from the moment it decides to open it until it forgets it;
 * also the {@link ConnectionListener} the transport reports to, so no lookup is needed.
 *
 * <p>Guarded by the pool's lock, every mutable field. State is which {@link ConnList} of its {@link
 * SubPool} holds it ({@link #list}), or none once {@link #removed}:
 *
 * <ul>
 *   <li>connecting: {@code connection == null};
 *   <li>idle: {@code inFlight == 0}, {@code retireReason == null};
 *   <li>active: {@code inFlight >= 1}, {@code retireReason == null}; at most 1 unless multiplexed;
 *   <li>draining: {@code inFlight >= 1}, {@code retireReason != null};
 *   <li>removed: in no list, never again in one.
 * </ul>
 *
 * <p>{@code inFlight} equals the number of its leases that are leased: {@link #leases} holds every
 * lease made for this connection, the free ones at {@code [0, freeCount)} and the leased ones
 * after. Leases are recycled so the reuse path allocates nothing once warm.
 */
final class PooledConnection implements ConnectionListener {
  private static final PooledLease[] NO_LEASES = new PooledLease[0];

  final ConnectionPool pool;
  final SubPool sub;
  final long id;

  /** Completes once the pool has taken the outcome of the connect into account. */
  final CompletableFuture<Void> ready = new CompletableFuture<>();

  // Everything below is guarded by pool.lock.
  @Nullable Connection connection;
  @Nullable CompletableFuture<Connection> connectFuture;

  /**
   * The waiting call this connect was started for, while it still waits; gets a connect failure.
   */
  @Nullable Waiter cause;

  @Nullable ConnList list;
  @Nullable PooledConnection prev;
  @Nullable PooledConnection next;

  boolean removed;

  /** Written once under the lock when connected, before any lease exists; then only read. */
  boolean multiplexed;

  int inFlight;
  long exchanges;
  long connectedAt;
  long idleSince;
  long idleDeadline;
  @Nullable CloseReason retireReason;

  /** The transport reported a close, or GOAWAY, before the connect completed. */
  boolean closedWhileConnecting;

  @Nullable Throwable closeError;
  boolean noNewWhileConnecting;

  PooledLease[] leases = NO_LEASES;
  int leaseCount;
  int freeCount;

  PooledConnection(ConnectionPool pool, SubPool sub, long id) {
    this.pool = pool;
    this.sub = sub;
    this.id = id;
  }

  /** Takes a free lease, making one when all are out; guarded by pool.lock. */
  PooledLease takeLease(Connection c) {
    if (freeCount == 0) {
      if (leaseCount == leases.length) {
        leases = Arrays.copyOf(leases, Math.max(1, leaseCount * 2));
      }
      PooledLease l = new PooledLease(this, c, leaseCount);
      leases[leaseCount++] = l;
      return l;
    }
    // The free lease nearest the boundary becomes the first leased one: no move needed.
    return leases[--freeCount];
  }

  /** Puts a leased lease back among the free ones; guarded by pool.lock. */
  void returnLease(PooledLease l) {
    int i = l.index;
    assert i >= freeCount && leases[i] == l;
    PooledLease boundary = leases[freeCount];
    leases[i] = boundary;
    boundary.index = i;
    leases[freeCount] = l;
    l.index = freeCount;
    freeCount++;
  }

  @Override
  public void capacityChanged(Connection connection) {
    pool.onCapacityChanged(this);
  }

  @Override
  public void noNewExchanges(Connection connection) {
    pool.onNoNewExchanges(this);
  }

  @Override
  public void closed(Connection connection) {
    pool.onClosed(this, null);
  }

  @Override
  public void closed(Connection connection, @Nullable Throwable error) {
    pool.onClosed(this, error);
  }

  @Override
  public String toString() {
    return "connection#" + id + "(" + sub.origin + ", " + (list == null ? "removed" : list) + ")";
  }
}
