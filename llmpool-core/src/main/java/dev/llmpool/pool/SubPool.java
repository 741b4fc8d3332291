package dev.llmpool.pool;

import dev.llmpool.Origin;
import dev.llmpool.PoolStats.CloseReason;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
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

  /**
   * The lock-free stack of HTTP/1.1 connections whose exchange ended while nobody waited: released
   * and taken again without the pool's lock (see {@code ConnectionPool}, "The lock-free HTTP/1.1
   * path"). Encoding, so that a push or pop is one compare-and-set and never allocates: the low 32
   * bits hold the top connection's {@link PooledConnection#slot} (0: empty), the high 32 bits a
   * stamp incremented by every change, so that a pop racing with a pop and a push of the same
   * connection (ABA) fails its compare-and-set. Each connection links to the next below it through
   * {@link PooledConnection#fastNext}.
   */
  final AtomicLong fastIdle = new AtomicLong();

  /**
   * The HTTP/1.1 connections that have a slot, by {@code slot - 1}, so that the stack can name them
   * by number. Grown (copied) under the lock, read without it; a slot is given back only once its
   * connection is removed and its lease free, so no stack entry can name a reused slot.
   */
  volatile PooledConnection[] slots = new PooledConnection[0]; // entries null when free

  /** Free slot numbers, a stack of {@code freeSlotCount}; guarded by the lock. */
  private int[] freeSlots = new int[0];

  private int freeSlotCount;

  /**
   * Callers in the locked part of try-acquire (they found {@link #fastIdle} empty): while any is,
   * releases go through the lock instead of the stack. When connections run short, this puts the
   * pool back on its locked protocol, where callers queue for the lock (and so hold few connections
   * at a time) instead of piling up as waiters, each served by a thread wake-up. A hint that
   * steers, not a count of connections.
   */
  final AtomicInteger lockedAcquirers = new AtomicInteger();

  /** Exchanges that reused a connection taken from {@link #fastIdle} (a counter, not a state). */
  final LongAdder fastReused = new LongAdder();

  /** What the last connection opened to this origin spoke; guides the next connect. */
  int protocol = PROTOCOL_UNKNOWN;

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

  /** Gives {@code c} a slot number; guarded by the lock. */
  void assignSlot(PooledConnection c) {
    int slot;
    if (freeSlotCount > 0) {
      slot = freeSlots[--freeSlotCount];
    } else {
      PooledConnection[] grown = Arrays.copyOf(slots, slots.length + Math.max(4, slots.length));
      slot = slots.length + 1;
      for (int i = grown.length; i > slot; i--) {
        freeSlots =
            freeSlotCount == freeSlots.length
                ? Arrays.copyOf(freeSlots, Math.max(8, freeSlots.length * 2))
                : freeSlots;
        freeSlots[freeSlotCount++] = i;
      }
      slots = grown;
    }
    PooledConnection[] a = slots;
    a[slot - 1] = c;
    slots = a; // publishes the entry (volatile write) before any push can name it
    c.slot = slot;
  }

  /** Takes back {@code c}'s slot once nothing can name it any more; guarded by the lock. */
  void releaseSlot(PooledConnection c) {
    int slot = c.slot;
    if (slot == 0) {
      return;
    }
    c.slot = 0;
    PooledConnection[] a = slots;
    a[slot - 1] = null;
    slots = a;
    if (freeSlotCount == freeSlots.length) {
      freeSlots = Arrays.copyOf(freeSlots, Math.max(8, freeSlots.length * 2));
    }
    freeSlots[freeSlotCount++] = slot;
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
