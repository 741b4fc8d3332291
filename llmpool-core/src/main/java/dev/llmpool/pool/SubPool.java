package dev.llmpool.pool;

import dev.llmpool.Origin;
import dev.llmpool.PoolStats.CloseReason;
import org.jspecify.annotations.Nullable;

/**
 * Everything the pool holds for one origin: its connections, one list per state, its waiting calls
 * and its counters.
 *
 * <p>Guarded by the pool's lock, every field. Invariants (checked by {@code
 * ConnectionPool.checkInvariants}):
 *
 * <ul>
 *   <li>each connection of this origin is in exactly one of the four lists;
 *   <li>{@code idle} is ordered by the time each connection became idle, most recent first, so its
 *       head is the one to reuse and its tail the one to evict;
 *   <li>{@code connecting + idle + active + draining <= maxConnectionsPerHost};
 *   <li>{@code opened - sum(closed) == idle + active + draining}.
 * </ul>
 */
final class SubPool {
  static final int PROTOCOL_UNKNOWN = 0;
  static final int PROTOCOL_HTTP1 = 1;
  static final int PROTOCOL_HTTP2 = 2;

  final Origin origin;

  /** Being opened; not yet usable. */
  final ConnList connecting = new ConnList("connecting");

  /** Open, no exchange in flight, ready to be reused; most recently used first. */
  final ConnList idle = new ConnList("idle");

  /** Open, at least one exchange in flight, taking more if multiplexed and below its limit. */
  final ConnList active = new ConnList("active");

  /** Open, exchanges in flight, takes no new one; closed when the last ends. */
  final ConnList draining = new ConnList("draining");

  final WaiterList waiters = new WaiterList();

  /** What the last connection opened to this origin spoke; guides the next connect. */
  int protocol = PROTOCOL_UNKNOWN;

  /**
   * The stream limit the last HTTP/2 connection to this origin learnt from the server (0: none
   * learnt yet): how many waiters one more connection will serve, so that a burst opens the
   * connections it needs at once rather than one handshake after another. Guarded by the pool's
   * lock.
   */
  int streamsPerConnection;

  long opened;
  final long[] closed = new long[CloseReason.values().length];
  long reused;
  long acquireTimeouts;
  long rejected;
  long connectFailures;
  int peakActive;
  int peakPending;
  int peakOpen;

  /** The last connect failure, cleared by a success: the likely cause of a pool timeout. */
  @Nullable Throwable lastConnectFailure;

  SubPool(Origin origin) {
    this.origin = origin;
  }

  /** Connections counted against the per-host limit: every state. */
  int count() {
    return connecting.size + idle.size + active.size + draining.size;
  }

  /** Connections with exchanges in flight. */
  int activeCount() {
    return active.size + draining.size;
  }

  long closedTotal() {
    long sum = 0;
    for (long c : closed) {
      sum += c;
    }
    return sum;
  }

  @Override
  public String toString() {
    return "SubPool[" + origin + "]";
  }
}
