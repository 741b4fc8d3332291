package dev.llmpool.pool;

import dev.llmpool.ConnectFailedException;
import dev.llmpool.Limits;
import dev.llmpool.LlmPoolException;
import dev.llmpool.Origin;
import dev.llmpool.PoolClosedException;
import dev.llmpool.PoolFullException;
import dev.llmpool.PoolStats;
import dev.llmpool.PoolStats.CloseReason;
import dev.llmpool.PoolTimeoutException;
import dev.llmpool.time.Scheduler;
import dev.llmpool.time.Ticker;
import java.lang.ref.Reference;
import java.lang.ref.ReferenceQueue;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.ReentrantLock;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The connection pool: decides which connection serves each call, when a connection is opened,
 * reused, kept or closed, and what happens when none is free. Transport-agnostic: connections come
 * from a {@link ConnectionFactory} and are seen only through {@link Connection}.
 *
 * <h2>Policy</h2>
 *
 * <ul>
 *   <li><b>Reuse first.</b> An HTTP/1.1 call takes the most recently used idle connection (so the
 *       others can expire); an HTTP/2 call takes a slot on the least loaded connection with a free
 *       stream slot (an idle one first).
 *   <li><b>Else open</b> a connection if {@code maxConnections} and {@code maxConnectionsPerHost}
 *       allow, counting connections being opened and draining. At the total limit, the least
 *       recently used idle connection of any host is closed to make room.
 *   <li><b>Else wait</b>, first come first served. Every decision goes to the oldest waiting call
 *       that can act on it, whatever its host: one busy host never starves another.
 *   <li><b>HTTP/2</b>: while a connection to an origin that speaks (or is expected to speak) HTTP/2
 *       is being opened, further calls wait for it instead of each opening its own. A connection
 *       that received GOAWAY takes no new stream and closes once drained. A lowered stream limit is
 *       obeyed at once, since the pool reads it on every decision.
 *   <li><b>Failures</b>: a failed connect fails the call it was opened for, if that call still
 *       waits, and frees its slot for the next. A dead connection found in the idle set is closed
 *       and another tried.
 * </ul>
 *
 * <h2>Threading</h2>
 *
 * <p>Thread-safe. One {@link ReentrantLock} guards all state (few hosts means little to gain from
 * finer locks, and one lock keeps the global limits and the cross-host order exact). Nothing waits
 * while holding it, and no {@code synchronized} block guards a wait, so virtual threads never pin
 * their carrier: a blocked caller parks in {@link CompletableFuture#join()}. Ending a lease never
 * blocks: when the lock is taken, the end is handed to the thread holding it (see {@link #end}), so
 * I/O threads releasing streams never park. The try-acquire path spins briefly before parking.
 *
 * <p><b>Decide under the lock, act after it.</b> Completing a future, opening or closing a
 * connection and calling the observer are queued as actions while the lock is held and run by the
 * same thread once it is released ({@link #unlockAndRun()}). So a waiter's future may complete on
 * the thread that released a connection, possibly an I/O thread: chain slow continuations with the
 * {@code *Async} methods.
 *
 * <h2>Invariants</h2>
 *
 * Kept by the code below and checked after every step by the tests ({@link #checkInvariants}):
 *
 * <ol>
 *   <li>A connection is in exactly one state: the one {@link ConnList} of its origin that holds it.
 *       Every count is derived from those lists; none is kept twice.
 *   <li>{@code connecting + idle + active + draining} never exceeds {@code maxConnectionsPerHost}
 *       per origin nor {@code maxConnections} in total; idle connections never exceed {@code
 *       maxIdleConnections}.
 *   <li>A waiter leaves its queue exactly once, with its state; only a waiter in state {@code
 *       WAITING} is in a queue, and only such a waiter is handed a lease. A lease that reaches a
 *       future already completed by its caller goes back to the pool.
 *   <li>Waiters of one origin are served in arrival order.
 *   <li>After every operation, no waiter could act: no waiting call has a usable connection or a
 *       connect it could start within the limits (no lost wake-up).
 * </ol>
 */
@SuppressWarnings("EnumOrdinal") // close counts are a long[] indexed by reason, like an EnumMap
public final class ConnectionPool implements AutoCloseable {
  /** How long {@link #close()} lets exchanges in flight finish before closing their connections. */
  public static final Duration DEFAULT_CLOSE_GRACE = Duration.ofSeconds(30);

  /**
   * How often leases whose owners were collected are looked for while any tracked lease is out: one
   * poll of an empty reference queue per second costs nothing, and a leaked connection comes back
   * within a second of the collection that found it.
   */
  static final long LEAK_CHECK_INTERVAL_NANOS = TimeUnit.SECONDS.toNanos(1);

  /** A connection is retired this much before the server's own idle timeout, at most. */
  static final long SERVER_IDLE_MARGIN_NANOS = TimeUnit.SECONDS.toNanos(1);

  private static final Logger LOG = LoggerFactory.getLogger(ConnectionPool.class);
  private static final SubPool[] NO_SUBS = new SubPool[0];

  /** How often the hot path spins for the lock before parking. */
  private static final int HOT_SPINS = 50;

  /** "Read the clock when needed": a value no ticker returns in practice. */
  static final long NO_TIME = Long.MIN_VALUE;

  final ReentrantLock lock = new ReentrantLock();
  final ReferenceQueue<Object> leakQueue = new ReferenceQueue<>();

  private final ConnectionFactory factory;
  private final Limits limits;
  private final int maxConnections;
  private final int maxPerHost;
  private final int maxIdle;
  private final int maxPending;
  private final long keepAliveNanos;
  private final long lifetimeNanos;
  private final Scheduler scheduler;
  private final Ticker ticker;
  private final PoolObserver observer;
  private final boolean leakTracking;
  private final Runnable maintenance = this::runMaintenance;
  private final Runnable sweep = this::sweepDeadlines;

  /** Read without the lock on the fast path; written under it. Origins are never removed. */
  private final ConcurrentHashMap<Origin, SubPool> byOrigin = new ConcurrentHashMap<>();

  /**
   * Leases ended while another thread held the lock: a lock-free stack (linked through {@link
   * PooledLease#nextEnd}, so pushing allocates nothing) that every lock holder drains right after
   * locking and again before unlocking. A thread that pushes and then fails to take the lock can
   * leave, because the holder's unlock re-checks the stack afterwards (push-then-tryLock against
   * unlock-then-check: one of the two always sees the other).
   */
  private final AtomicReference<@Nullable PooledLease> pendingEnds = new AtomicReference<>();

  /** Set once some lease was tied to an owner: from then on maintenance also polls for leaks. */
  private volatile boolean ownersTracked;

  // Guarded by lock.
  private SubPool[] subs = NO_SUBS;
  private ArrayList<Runnable> actions = new ArrayList<>();
  private boolean closed;
  private boolean closeDone;
  private final CompletableFuture<Void> closeFuture = new CompletableFuture<>();
  private final List<Scheduler.Cancellable> forceCloseTimers = new ArrayList<>();
  private long nextWaiterSeq;
  private long nextConnectionId;
  private long maintenanceAt = Long.MAX_VALUE;
  private Scheduler.@Nullable Cancellable maintenanceTask;
  private long sweepAt = Long.MAX_VALUE;
  private Scheduler.@Nullable Cancellable sweepTask;
  private int peakActive;
  private int peakPending;
  private int peakOpen;

  private ConnectionPool(Builder b) {
    this.factory = b.factory;
    this.limits = b.limits;
    this.maxConnections = limits.maxConnections();
    this.maxPerHost = limits.maxConnectionsPerHost();
    this.maxIdle = limits.maxIdleConnections();
    this.maxPending = limits.maxPendingAcquires();
    this.keepAliveNanos = saturatedNanos(limits.keepAliveExpiry());
    this.lifetimeNanos = saturatedNanos(limits.maxConnectionLifetime());
    this.scheduler = b.scheduler;
    this.ticker = b.scheduler.ticker();
    this.observer = b.observer;
    this.leakTracking = b.leakTracking;
  }

  /** A builder for a pool whose connections {@code factory} opens. */
  public static Builder builder(ConnectionFactory factory) {
    return new Builder(factory);
  }

  /** The limits this pool applies. */
  public Limits limits() {
    return limits;
  }

  // ---------------------------------------------------------------------------------------------
  // Acquire

  /**
   * Takes a connection that is free now: an idle one, or a free slot on an HTTP/2 connection. Never
   * opens a connection and never waits; returns null when none is free, when calls are already
   * waiting for this origin (they go first) or when the pool is closed. Allocates nothing once the
   * pool is warm.
   */
  public @Nullable Lease tryAcquire(Origin origin) {
    SubPool s = byOrigin.get(origin);
    if (s == null) {
      return null;
    }
    enterHot();
    try {
      if (closed || s.waiters.size != 0) {
        return null;
      }
      PooledConnection c = findAvailable(s);
      return c == null ? null : leaseFrom(c, 0L, null);
    } finally {
      unlockAndRun();
    }
  }

  /**
   * Gets a lease for one exchange with {@code origin}: reuses a free connection, else opens one
   * within the limits, else waits for one, first come first served.
   *
   * <p>The future fails with {@link PoolTimeoutException} after {@code timeoutNanos} without a
   * connection; at once with {@link PoolFullException} when {@code maxPendingAcquires} calls are
   * already waiting and this one could not open a connection of its own; with {@link
   * PoolClosedException} when the pool is or gets closed; or with the connect failure ({@link
   * LlmPoolException} naming the phase) of the connection opened for this call. Cancelling the
   * future ends the wait; a connection meant for it goes back to the pool.
   *
   * @param timeoutNanos how long to wait at most ({@code timeouts.pool}); {@link Long#MAX_VALUE}
   *     waits without a deadline
   * @param cause passed to {@link ConnectionFactory#open} if a connection is opened for this call
   */
  public CompletableFuture<Lease> acquire(
      Origin origin, long timeoutNanos, @Nullable Object cause) {
    SubPool s = subFor(origin);
    enter();
    try {
      if (closed) {
        return CompletableFuture.failedFuture(
            new PoolClosedException(origin, "the pool is closed"));
      }
      if (s.waiters.size == 0) {
        PooledConnection c = findAvailable(s);
        if (c != null) {
          return CompletableFuture.completedFuture(leaseFrom(c, 0L, null));
        }
      }
      pollLeaks();
      Waiter w = new Waiter(this, s, ++nextWaiterSeq, ticker.nanoTime(), timeoutNanos, cause);
      if (leakTracking) {
        // Here, on the caller's thread: the lease may be handed over on another one.
        w.acquiredAt = acquisitionStack(origin);
      }
      s.waiters.addLast(w);
      dispatch();
      if (w.state == Waiter.WAITING) {
        if (w.connect == null && totalWaiters() - 1 >= maxPending) {
          PoolFullException ex = new PoolFullException(origin, fullMessage(s));
          removeWaiter(w, Waiter.REJECTED);
          s.rejected++;
          defer(
              () -> {
                w.fail(ex);
                observer.rejected(origin);
              });
        } else {
          notePeakPending(s);
          scheduleDeadlineSweep(w.deadline, w.startNanos);
        }
      }
      return w;
    } finally {
      unlockAndRun();
    }
  }

  /**
   * Opens connections to {@code origin} until it has {@code connections} (counting those open or
   * being opened), as far as the limits allow without closing anything. The future completes when
   * those connects have completed, exceptionally with the first failure.
   */
  public CompletableFuture<Void> prewarm(Origin origin, int connections) {
    if (connections < 0) {
      throw new IllegalArgumentException("connections must not be negative, got " + connections);
    }
    SubPool s = subFor(origin);
    List<PooledConnection> started = new ArrayList<>();
    enter();
    try {
      if (closed) {
        return CompletableFuture.failedFuture(
            new PoolClosedException(origin, "the pool is closed"));
      }
      while (s.count() < connections && s.count() < maxPerHost && totalCount() < maxConnections) {
        started.add(startConnect(s, null));
      }
    } finally {
      unlockAndRun();
    }
    CompletableFuture<?>[] ready = new CompletableFuture<?>[started.size()];
    for (int i = 0; i < ready.length; i++) {
      ready[i] = started.get(i).ready;
    }
    return CompletableFuture.allOf(ready);
  }

  /** The HTTP/2 stream limit learnt for {@code origin} (0: none), for the model test. */
  int learntStreamsPerConnection(Origin origin) {
    enter();
    try {
      SubPool s = byOrigin.get(origin);
      return s == null ? 0 : s.streamsPerConnection;
    } finally {
      unlockAndRun();
    }
  }

  private SubPool subFor(Origin origin) {
    SubPool s = byOrigin.get(origin);
    if (s != null) {
      return s;
    }
    enter();
    try {
      s = byOrigin.get(origin);
      if (s == null) {
        s = new SubPool(origin);
        SubPool[] grown = Arrays.copyOf(subs, subs.length + 1);
        grown[subs.length] = s;
        subs = grown;
        byOrigin.put(origin, s);
      }
      return s;
    } finally {
      unlockAndRun();
    }
  }

  /**
   * A connection of {@code s} that can take an exchange now, or null. Closes dead idle connections
   * found on the way. Guarded by lock.
   */
  private @Nullable PooledConnection findAvailable(SubPool s) {
    PooledConnection c = s.idle.head;
    while (c != null) {
      PooledConnection next = c.next;
      Connection conn = connectionOf(c);
      if (!conn.isHealthy()) {
        forget(c, CloseReason.SERVER_CLOSED, true);
      } else if (conn.maxConcurrentExchanges() > 0) {
        return c; // 0: an HTTP/2 peer allows no stream now, or the connection is closing
      }
      c = next;
    }
    if (s.protocol != SubPool.PROTOCOL_HTTP2) {
      return null;
    }
    PooledConnection best = null;
    for (c = s.active.head; c != null; c = c.next) {
      if (c.multiplexed && (best == null || c.inFlight < best.inFlight)) {
        Connection conn = connectionOf(c);
        if (c.inFlight < conn.maxConcurrentExchanges() && conn.isHealthy()) {
          best = c;
        }
      }
    }
    return best;
  }

  private static Throwable acquisitionStack(Origin origin) {
    return new Throwable("lease of " + origin + " acquired here");
  }

  /**
   * Hands out one slot of {@code c}, which findAvailable returned; {@code acquiredAt} is the stack
   * a waiter recorded (leak tracking), or null to record this thread's. Guarded by lock.
   */
  private PooledLease leaseFrom(
      PooledConnection c, long waitedNanos, @Nullable Throwable acquiredAt) {
    PooledLease l = c.takeLease(connectionOf(c));
    PooledLease.STATE.setRelease(l, PooledLease.LEASED); // under the lock: no full fence needed
    l.generation++;
    l.waitedNanos = waitedNanos;
    l.reused = c.exchanges++ != 0;
    if (l.reused) {
      c.sub.reused++;
    }
    if (leakTracking) {
      l.acquiredAt = acquiredAt != null ? acquiredAt : acquisitionStack(c.sub.origin);
    }
    if (c.inFlight++ == 0) {
      c.sub.idle.remove(c);
      c.sub.active.addLast(c);
      notePeakActive(c.sub);
    }
    return l;
  }

  // ---------------------------------------------------------------------------------------------
  // Release

  /**
   * Ends a lease: {@code discard} when the connection is unfit for reuse. A second end is ignored
   * (the lease's state changes atomically from leased to ending exactly once).
   *
   * <p>Never blocks for long: when another thread holds the lock, the lease is handed to it through
   * {@link #pendingEnds} and that thread finishes the end before it unlocks (see {@link
   * #unlockAndRun}). Under contention this halves the blocking lock acquisitions per exchange and
   * keeps releasing threads (often I/O threads) from parking.
   */
  void end(PooledLease l, boolean discard, long endNanos) {
    if (!PooledLease.STATE.compareAndSet(
        l, PooledLease.LEASED, discard ? PooledLease.ENDING_DISCARD : PooledLease.ENDING)) {
      return;
    }
    // An HTTP/1.1 connection always becomes idle here and needs the time: use the one the caller
    // read when the exchange ended (Lease.release(long)), else read the clock before
    // taking the lock, to keep the lock's hold short. (multiplexed is written once, before any
    // lease of the connection exists.)
    long now = endNanos;
    if (now == NO_TIME && !l.owner.multiplexed) {
      now = ticker.nanoTime();
    }
    if (lock.tryLock()) {
      try {
        drainEnds();
        finishEnd(l, null, now);
      } finally {
        unlockAndRun();
      }
      return;
    }
    PooledLease head;
    do {
      head = pendingEnds.get();
      l.nextEnd = head;
    } while (!pendingEnds.compareAndSet(head, l));
    // The holder finishes it before unlocking; if it unlocked meanwhile, finish it ourselves.
    if (lock.tryLock()) {
      drainEnds();
      unlockAndRun();
    }
  }

  /** Finishes the ends other threads handed over while this one held the lock. Guarded by lock. */
  private void drainEnds() {
    if (pendingEnds.get() == null) {
      return;
    }
    PooledLease l = pendingEnds.getAndSet(null);
    while (l != null) {
      PooledLease next = l.nextEnd;
      l.nextEnd = null;
      finishEnd(l, null, NO_TIME);
      l = next;
    }
  }

  /**
   * Finishes ending a lease that is in state ending; with a {@code closeReason} (or when ended as
   * discarded) the connection is retired (closed now if no other exchange runs on it). Guarded by
   * lock.
   */
  private void finishEnd(PooledLease l, @Nullable CloseReason closeReason, long now) {
    CloseReason reason = closeReason;
    if (reason == null && l.state == PooledLease.ENDING_DISCARD) {
      reason = CloseReason.DISCARDED;
    }
    PooledConnection c = l.owner;
    l.acquiredAt = null;
    PooledLease.OwnerRef ref = l.ownerRef;
    if (ref != null) {
      l.ownerRef = null;
      ref.clear(); // a cleared reference is never enqueued: no leak report for an ended lease
    }
    PooledLease.STATE.setRelease(l, PooledLease.FREE); // under the lock: no full fence needed
    c.returnLease(l);
    c.inFlight--;
    if (c.removed) {
      return;
    }
    if (reason != null) {
      retire(c, reason);
    } else if (c.retireReason != null) {
      if (c.inFlight == 0) {
        forget(c, c.retireReason, true);
      }
    } else if (c.inFlight == 0) {
      becameIdle(c, now == NO_TIME ? ticker.nanoTime() : now);
    }
    settle();
  }

  /**
   * After a connection became idle or closed: serve the waiters first, then close idle connections
   * beyond the cap; what that closing frees (a per-host slot) may let a waiter open a connection,
   * so dispatch again. Guarded by lock.
   */
  private void settle() {
    if (hasWaiters()) {
      dispatch();
    }
    if (trimIdle() && hasWaiters()) {
      dispatch();
    }
  }

  /** {@code c} in the active list just ended its last exchange. Guarded by lock. */
  private void becameIdle(PooledConnection c, long now) {
    Connection conn = connectionOf(c);
    if (!conn.isHealthy()) {
      forget(c, CloseReason.SERVER_CLOSED, true);
    } else if (now - c.connectedAt >= lifetimeNanos) {
      forget(c, CloseReason.LIFETIME, true);
    } else {
      c.sub.active.remove(c);
      addIdle(c, conn, now);
    }
  }

  private void addIdle(PooledConnection c, Connection conn, long time) {
    // A release reads the clock before taking the lock, so another may have stamped a later time
    // meanwhile: never go below the head, the idle list stays most recent first.
    PooledConnection head = c.sub.idle.head;
    long now = head != null && head.idleSince > time ? head.idleSince : time;
    c.idleSince = now;
    c.idleDeadline = saturatedAdd(now, idleTimeoutNanos(conn));
    c.sub.idle.addFirst(c);
    scheduleMaintenance(c.idleDeadline, now);
  }

  /**
   * How long {@code conn} may stay idle: {@code keepAliveExpiry}, or less when the server said it
   * closes sooner ({@code Keep-Alive: timeout=N}), with a margin so we never reuse a connection the
   * server is closing at that moment.
   */
  private long idleTimeoutNanos(Connection conn) {
    long server = conn.serverIdleTimeoutNanos();
    if (server == Long.MAX_VALUE) {
      return keepAliveNanos;
    }
    long margin = Math.min(SERVER_IDLE_MARGIN_NANOS, server / 2);
    return Math.max(0L, Math.min(keepAliveNanos, server - margin));
  }

  /**
   * Closes least recently used idle connections beyond {@code maxIdleConnections}; true when it
   * closed any.
   */
  private boolean trimIdle() {
    boolean trimmed = false;
    while (totalIdle() > maxIdle) {
      forget(Objects.requireNonNull(lruIdle()), CloseReason.EVICTED_LRU, true);
      trimmed = true;
    }
    return trimmed;
  }

  /**
   * {@code c} takes no new exchange: closed now when none is in flight, else moved to draining and
   * closed when the last ends. Only for open connections. Guarded by lock.
   */
  private void retire(PooledConnection c, CloseReason reason) {
    if (c.inFlight == 0) {
      forget(c, reason, true);
    } else if (c.retireReason == null) {
      c.sub.active.remove(c);
      c.sub.draining.addLast(c);
      c.retireReason = reason;
    }
  }

  /**
   * Removes {@code c} from the pool for good: counts the close, and (after the lock) closes the
   * connection when {@code closeIt}, or cancels the connect if it was still being opened.
   */
  private void forget(PooledConnection c, CloseReason reason, boolean closeIt) {
    ConnList list = Objects.requireNonNull(c.list, "not in the pool");
    list.remove(c);
    c.removed = true;
    Origin origin = c.sub.origin;
    Connection conn = c.connection;
    if (conn == null) {
      // Still connecting: never counted as opened, so not as closed either.
      detachCause(c);
      CompletableFuture<Connection> f = c.connectFuture;
      if (f != null) {
        defer(() -> f.cancel(false));
      }
    } else {
      c.sub.closed[reason.ordinal()]++;
      if (closeIt) {
        defer(
            () -> {
              conn.close();
              observer.connectionClosed(origin, reason);
            });
      } else if (observer != PoolObserver.NONE) {
        defer(() -> observer.connectionClosed(origin, reason));
      }
    }
    if (closed) {
      checkCloseDone();
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Waiters and connects

  /**
   * Lets every waiter that can act now act, oldest first across all origins: a waiter whose origin
   * has a usable connection is served; one that needs a new connection gets a connect started if
   * its origin's limit allows and either the total limit allows or an idle connection (of any
   * origin, least recently used) can be closed to make room. Stops when no waiter can act, which is
   * invariant 5. Guarded by lock.
   */
  private void dispatch() {
    if (closed) {
      return;
    }
    while (true) {
      Waiter best = null;
      PooledConnection bestConnection = null;
      for (SubPool s : subs) {
        Waiter head = s.waiters.head;
        if (head == null || (best != null && head.seq > best.seq)) {
          continue;
        }
        PooledConnection c = findAvailable(s);
        if (c != null) {
          best = head;
          bestConnection = c;
        }
      }
      boolean room = totalCount() < maxConnections || totalIdle() > 0;
      if (room) {
        for (SubPool s : subs) {
          Waiter head = s.waiters.head;
          if (head == null
              || (best != null && head.seq > best.seq)
              || s.count() >= maxPerHost
              || !needsConnect(s)) {
            continue;
          }
          Waiter w = firstUnattributed(s);
          if (w != null && (best == null || w.seq < best.seq)) {
            best = w;
            bestConnection = null;
          }
        }
      }
      if (best == null) {
        return;
      }
      if (bestConnection != null) {
        serve(best, bestConnection);
      } else {
        if (totalCount() >= maxConnections) {
          forget(Objects.requireNonNull(lruIdle()), CloseReason.EVICTED_LRU, true);
        }
        startConnect(best.sub, best);
      }
    }
  }

  /**
   * Whether a waiter of {@code s} (which has no usable connection) needs a new connection: for
   * HTTP/1.1, when waiters outnumber connects in flight (each will serve one); for HTTP/2, when the
   * waiters outnumber what the connects in flight will carry at the origin's learnt stream limit
   * (one connect at a time while no limit is learnt: one connection may serve them all), and never
   * while a connection is still learning its limit.
   */
  private boolean needsConnect(SubPool s) {
    if (s.waiters.size == 0) {
      return false;
    }
    if (expectsMultiplexing(s)) {
      if (learningCapacity(s)) {
        return false;
      }
      int per = s.streamsPerConnection;
      return per <= 0 ? s.connecting.size == 0 : s.waiters.size > (long) s.connecting.size * per;
    }
    return s.waiters.size > s.connecting.size;
  }

  /** Records the stream limit {@code c} learnt, for {@link #needsConnect}. Guarded by lock. */
  private static void learnStreamLimit(PooledConnection c, Connection conn) {
    if (c.multiplexed && conn.capacityKnown() && conn.isHealthy()) {
      int limit = conn.maxConcurrentExchanges();
      if (limit > 0) {
        c.sub.streamsPerConnection = limit;
      }
    }
  }

  /**
   * Whether a connection of {@code s} is still learning its stream limit (HTTP/2 before the peer's
   * SETTINGS): its limit will usually serve the waiters, so no connect is started until it is known
   * (the transport then calls capacityChanged, which dispatches again). Guarded by lock; walks the
   * origin's connections, which is cheap (HTTP/2 origins hold few) and happens only when a waiter
   * found no usable connection.
   */
  private static boolean learningCapacity(SubPool s) {
    for (PooledConnection c = s.active.head; c != null; c = c.next) {
      Connection conn = c.connection;
      if (conn != null && c.multiplexed && !conn.capacityKnown() && conn.isHealthy()) {
        return true;
      }
    }
    for (PooledConnection c = s.idle.head; c != null; c = c.next) {
      Connection conn = c.connection;
      if (conn != null && c.multiplexed && !conn.capacityKnown() && conn.isHealthy()) {
        return true;
      }
    }
    return false;
  }

  private boolean expectsMultiplexing(SubPool s) {
    return s.protocol == SubPool.PROTOCOL_HTTP2
        || (s.protocol == SubPool.PROTOCOL_UNKNOWN && factory.expectsMultiplexing(s.origin));
  }

  /** The oldest waiter of {@code s} with no connect started for it. */
  private static @Nullable Waiter firstUnattributed(SubPool s) {
    for (Waiter w = s.waiters.head; w != null; w = w.next) {
      if (w.connect == null) {
        return w;
      }
    }
    return null;
  }

  private void serve(Waiter w, PooledConnection c) {
    long waited = ticker.nanoTime() - w.startNanos;
    PooledLease l = leaseFrom(c, waited, w.acquiredAt);
    removeWaiter(w, Waiter.SERVED);
    Origin origin = w.sub.origin;
    defer(
        () -> {
          if (w.deliver(l)) {
            observer.acquireWaited(origin, waited);
          } else {
            l.release(); // the caller gave up a moment ago: the connection goes back
          }
        });
  }

  /** Takes {@code w} out of its queue for good, in {@code state}. Guarded by lock. */
  private void removeWaiter(Waiter w, int state) {
    assert w.state == Waiter.WAITING : w;
    w.sub.waiters.remove(w);
    w.state = state;
    PooledConnection c = w.connect;
    if (c != null) {
      c.cause = null;
      w.connect = null;
    }
  }

  private static void detachCause(PooledConnection c) {
    Waiter w = c.cause;
    if (w != null) {
      w.connect = null;
      c.cause = null;
    }
  }

  /** Records a new connection to {@code s} as connecting; the connect starts after the lock. */
  private PooledConnection startConnect(SubPool s, @Nullable Waiter w) {
    PooledConnection c = new PooledConnection(this, s, ++nextConnectionId);
    s.connecting.addLast(c);
    Object cause = null;
    if (w != null) {
      c.cause = w;
      w.connect = c;
      cause = w.cause;
    }
    notePeakOpen(s);
    Object causeForFactory = cause;
    defer(() -> open(c, causeForFactory));
    return c;
  }

  /** Starts the connect; without the lock. */
  private void open(PooledConnection c, @Nullable Object cause) {
    CompletableFuture<Connection> f;
    try {
      f = Objects.requireNonNull(factory.open(c.sub.origin, c, cause), "factory returned null");
    } catch (RuntimeException e) {
      f = CompletableFuture.failedFuture(e);
    }
    boolean abandoned;
    enter();
    try {
      abandoned = c.removed && c.connection == null;
      if (!abandoned) {
        c.connectFuture = f;
      }
    } finally {
      unlockAndRun();
    }
    if (abandoned) {
      f.cancel(false);
    }
    // The returned stage is not needed: onConnectDone reports every outcome itself.
    var unused = f.whenComplete((conn, error) -> onConnectDone(c, conn, error));
  }

  private void onConnectDone(
      PooledConnection c, @Nullable Connection conn, @Nullable Throwable error) {
    SubPool s = c.sub;
    Throwable outcome = null;
    enter();
    try {
      if (error != null || conn == null) {
        LlmPoolException ex =
            asConnectFailure(s.origin, error == null ? new NullPointerException("null") : error);
        if (c.removed) {
          outcome = new PoolClosedException(s.origin, "the pool was closed while connecting");
        } else {
          outcome = ex;
          s.connecting.remove(c);
          c.removed = true;
          s.connectFailures++;
          s.lastConnectFailure = ex;
          Waiter w = c.cause;
          if (w != null) {
            removeWaiter(w, Waiter.FAILED);
            defer(() -> w.fail(ex));
          }
          if (observer != PoolObserver.NONE) {
            defer(() -> observer.connectFailed(s.origin, ex));
          }
          if (closed) {
            checkCloseDone();
          }
          dispatch();
        }
      } else if (c.removed) {
        // The pool was closed while this was being opened and the cancel lost the race.
        s.opened++;
        s.closed[CloseReason.POOL_CLOSED.ordinal()]++;
        outcome = new PoolClosedException(s.origin, "the pool was closed while connecting");
        defer(
            () -> {
              conn.close();
              observer.connectionOpened(s.origin, conn.isMultiplexed());
              observer.connectionClosed(s.origin, CloseReason.POOL_CLOSED);
            });
      } else {
        long now = ticker.nanoTime();
        c.connection = conn;
        c.multiplexed = conn.isMultiplexed();
        c.connectedAt = now;
        learnStreamLimit(c, conn);
        s.protocol = c.multiplexed ? SubPool.PROTOCOL_HTTP2 : SubPool.PROTOCOL_HTTP1;
        s.lastConnectFailure = null;
        s.opened++;
        detachCause(c);
        s.connecting.remove(c);
        if (observer != PoolObserver.NONE) {
          defer(() -> observer.connectionOpened(s.origin, c.multiplexed));
        }
        addIdle(c, conn, now);
        scheduleMaintenance(saturatedAdd(now, lifetimeNanos), now);
        if (c.closedWhileConnecting) {
          Throwable e = c.closeError;
          forget(c, e != null ? CloseReason.ERROR : CloseReason.SERVER_CLOSED, false);
        } else if (c.noNewWhileConnecting) {
          forget(c, c.multiplexed ? CloseReason.GOAWAY : CloseReason.SERVER_CLOSED, true);
        }
        settle();
      }
    } finally {
      unlockAndRun();
    }
    if (outcome == null) {
      c.ready.complete(null);
    } else {
      c.ready.completeExceptionally(outcome);
    }
  }

  private static LlmPoolException asConnectFailure(Origin origin, Throwable error) {
    Throwable t = error;
    while ((t instanceof CompletionException || t instanceof ExecutionException)
        && t.getCause() != null) {
      t = t.getCause();
    }
    if (t instanceof LlmPoolException e) {
      return e;
    }
    return new ConnectFailedException(
        origin, "could not open a connection: " + t.getClass().getSimpleName(), false, t);
  }

  /**
   * Runs the deadline sweep no later than {@code deadline}. One task for all waiters, at the
   * earliest deadline: serving or cancelling a waiter then touches no scheduler (most waits end
   * that way), at the price of a stale sweep now and then that finds nothing due. Scheduling never
   * runs the task inline, so it is safe under the lock. Guarded by lock.
   */
  private void scheduleDeadlineSweep(long deadline, long now) {
    if (deadline >= sweepAt) {
      return;
    }
    Scheduler.Cancellable old = sweepTask;
    if (old != null) {
      old.cancel();
    }
    sweepAt = deadline;
    sweepTask = scheduler.schedule(sweep, deadline - now);
  }

  /** Fails every waiter whose deadline has come, then schedules itself for the next deadline. */
  private void sweepDeadlines() {
    enter();
    try {
      sweepTask = null;
      sweepAt = Long.MAX_VALUE;
      long now = ticker.nanoTime();
      long next = Long.MAX_VALUE;
      for (SubPool s : subs) {
        Waiter w = s.waiters.head;
        while (w != null) {
          Waiter following = w.next;
          if (now >= w.deadline) {
            timeOut(w, now);
          } else {
            next = Math.min(next, w.deadline);
          }
          w = following;
        }
      }
      scheduleDeadlineSweep(next, now);
    } finally {
      unlockAndRun();
    }
  }

  /** {@code w}'s deadline passed. Guarded by lock. */
  private void timeOut(Waiter w, long now) {
    long waited = now - w.startNanos;
    PoolTimeoutException ex = timeoutException(w, waited);
    removeWaiter(w, Waiter.TIMED_OUT);
    w.sub.acquireTimeouts++;
    Origin origin = w.sub.origin;
    defer(
        () -> {
          w.fail(ex);
          observer.acquireTimedOut(origin, waited);
        });
  }

  /** The caller completed or cancelled its future itself: leave the queue. */
  void abandon(Waiter w) {
    enter();
    try {
      if (w.state == Waiter.WAITING) {
        removeWaiter(w, Waiter.CANCELLED);
      }
    } finally {
      unlockAndRun();
    }
  }

  // ---------------------------------------------------------------------------------------------
  // What the transport reports

  void onCapacityChanged(PooledConnection c) {
    enter();
    try {
      Connection conn = c.connection;
      if (!c.removed && conn != null) {
        learnStreamLimit(c, conn);
        if (hasWaiters()) {
          dispatch();
        }
      }
    } finally {
      unlockAndRun();
    }
  }

  void onNoNewExchanges(PooledConnection c) {
    enter();
    try {
      if (c.removed) {
        return;
      }
      if (c.connection == null) {
        c.noNewWhileConnecting = true;
        return;
      }
      retire(c, c.multiplexed ? CloseReason.GOAWAY : CloseReason.SERVER_CLOSED);
      if (hasWaiters()) {
        dispatch();
      }
    } finally {
      unlockAndRun();
    }
  }

  void onClosed(PooledConnection c, @Nullable Throwable error) {
    enter();
    try {
      if (c.removed) {
        return;
      }
      if (c.connection == null) {
        c.closedWhileConnecting = true;
        c.closeError = error;
        return;
      }
      CloseReason reason =
          error != null
              ? CloseReason.ERROR
              : c.retireReason == CloseReason.GOAWAY
                  ? CloseReason.GOAWAY
                  : CloseReason.SERVER_CLOSED;
      forget(c, reason, false);
      if (hasWaiters()) {
        dispatch();
      }
    } finally {
      unlockAndRun();
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Maintenance and leaks

  /** Runs maintenance no later than {@code deadline}. Guarded by lock. */
  private void scheduleMaintenance(long deadline, long now) {
    if (deadline >= maintenanceAt || deadline == Long.MAX_VALUE) {
      return;
    }
    Scheduler.Cancellable old = maintenanceTask;
    if (old != null) {
      old.cancel();
    }
    maintenanceAt = deadline;
    maintenanceTask = scheduler.schedule(maintenance, deadline - now);
  }

  /**
   * Closes idle connections past their keep-alive, retires connections past their lifetime,
   * reclaims leaked leases, then schedules itself for the next deadline (none when the pool holds
   * no connection).
   */
  private void runMaintenance() {
    enter();
    try {
      maintenanceTask = null;
      maintenanceAt = Long.MAX_VALUE;
      long now = ticker.nanoTime();
      pollLeaks();
      long next = Long.MAX_VALUE;
      boolean leaseOut = false;
      for (SubPool s : subs) {
        PooledConnection c = s.idle.tail;
        while (c != null) {
          PooledConnection prev = c.prev;
          long lifeEnd = saturatedAdd(c.connectedAt, lifetimeNanos);
          if (now >= c.idleDeadline) {
            forget(c, CloseReason.IDLE_EXPIRED, true);
          } else if (now >= lifeEnd) {
            forget(c, CloseReason.LIFETIME, true);
          } else {
            next = Math.min(next, Math.min(c.idleDeadline, lifeEnd));
          }
          c = prev;
        }
        c = s.active.head;
        while (c != null) {
          PooledConnection following = c.next;
          long lifeEnd = saturatedAdd(c.connectedAt, lifetimeNanos);
          if (now >= lifeEnd) {
            retire(c, CloseReason.LIFETIME);
          } else {
            next = Math.min(next, lifeEnd);
          }
          c = following;
        }
        leaseOut |= s.activeCount() > 0;
      }
      if (leaseOut && ownersTracked) {
        next = Math.min(next, saturatedAdd(now, LEAK_CHECK_INTERVAL_NANOS));
      }
      if (hasWaiters()) {
        dispatch();
      }
      scheduleMaintenance(next, now);
    } finally {
      unlockAndRun();
    }
  }

  void trackOwner(PooledLease l, Object holder, @Nullable Runnable abandon) {
    PooledLease.OwnerRef old = l.ownerRef;
    if (old != null) {
      old.clear();
    }
    l.ownerRef = new PooledLease.OwnerRef(holder, l, l.generation, this, abandon);
    if (!ownersTracked) {
      enter();
      try {
        if (!ownersTracked) {
          ownersTracked = true;
          long now = ticker.nanoTime();
          scheduleMaintenance(saturatedAdd(now, LEAK_CHECK_INTERVAL_NANOS), now);
        }
      } finally {
        unlockAndRun();
      }
    }
  }

  /**
   * Reclaims leases whose owner was collected, and reports each once. An HTTP/1.1 lease (or one
   * tracked without an abandon action) is ended here and its connection closed, since its state is
   * unknown. An HTTP/2 lease with an abandon action is left to it: the action resets the stream,
   * whose end releases the lease, so the connection's other streams are not cut. Guarded by lock.
   */
  private void pollLeaks() {
    Reference<?> r;
    while ((r = leakQueue.poll()) != null) {
      PooledLease.OwnerRef ref = (PooledLease.OwnerRef) r;
      PooledLease l = ref.lease;
      if (l.generation != ref.generation || l.ownerRef != ref || l.state != PooledLease.LEASED) {
        continue; // ended (and maybe recycled) meanwhile
      }
      Throwable acquiredAt = l.acquiredAt;
      Origin origin = l.owner.sub.origin;
      Runnable abandon = ref.abandon;
      boolean closeConnection = abandon == null || !l.owner.multiplexed;
      if (closeConnection) {
        if (!PooledLease.STATE.compareAndSet(l, PooledLease.LEASED, PooledLease.ENDING)) {
          continue;
        }
        finishEnd(l, CloseReason.LEAKED, NO_TIME);
      } else {
        l.ownerRef = null; // reported once; the stream's end releases the lease
      }
      defer(
          () -> {
            reportLeak(origin, acquiredAt, closeConnection);
            if (abandon != null) {
              abandon.run();
            }
          });
    }
  }

  private void reportLeak(Origin origin, @Nullable Throwable acquiredAt, boolean closed) {
    String msg =
        "A connection lease to "
            + origin
            + " was leaked: the call holding it was garbage-collected without releasing it, so"
            + (closed ? " its connection was closed" : " its HTTP/2 stream was reset")
            + ". Close every response (try-with-resources).";
    if (acquiredAt != null) {
      LOG.warn(msg, acquiredAt);
    } else {
      LOG.warn("{} Turn leak tracking on to log where the lease was acquired.", msg);
    }
    observer.leakDetected(origin, acquiredAt);
  }

  // ---------------------------------------------------------------------------------------------
  // Close

  /** {@link #close(Duration)} with {@link #DEFAULT_CLOSE_GRACE}; does not wait. */
  @Override
  public void close() {
    var unused = close(DEFAULT_CLOSE_GRACE);
  }

  /**
   * Closes the pool: refuses new acquires, fails waiting calls with {@link PoolClosedException},
   * cancels connects in progress, closes idle connections at once and active ones when their
   * exchanges end or when {@code grace} has passed, whichever is first. May be called again, e.g.
   * with a zero grace to stop waiting for exchanges in flight.
   *
   * @return completes once the pool holds no connection
   */
  public CompletableFuture<Void> close(Duration grace) {
    long graceNanos = saturatedNanos(grace);
    enter();
    try {
      if (!closed) {
        closed = true;
        for (SubPool s : subs) {
          while (s.waiters.head != null) {
            Waiter w = s.waiters.head;
            removeWaiter(w, Waiter.CLOSED);
            PoolClosedException ex =
                new PoolClosedException(
                    s.origin, "the pool was closed while the call waited for a connection");
            defer(() -> w.fail(ex));
          }
          while (s.idle.head != null) {
            forget(s.idle.head, CloseReason.POOL_CLOSED, true);
          }
          while (s.connecting.head != null) {
            forget(s.connecting.head, CloseReason.POOL_CLOSED, true);
          }
          PooledConnection c = s.active.head;
          while (c != null) {
            PooledConnection next = c.next;
            retire(c, CloseReason.POOL_CLOSED);
            c = next;
          }
        }
      }
      if (!closeDone) {
        if (graceNanos <= 0) {
          forceClose();
        } else {
          forceCloseTimers.add(scheduler.schedule(this::forceCloseNow, graceNanos));
        }
      }
      checkCloseDone();
      return closeFuture;
    } finally {
      unlockAndRun();
    }
  }

  private void forceCloseNow() {
    enter();
    try {
      forceClose();
    } finally {
      unlockAndRun();
    }
  }

  /** Closes every connection still held (exchanges in flight fail). Guarded by lock. */
  private void forceClose() {
    for (SubPool s : subs) {
      while (s.active.head != null) {
        forget(s.active.head, CloseReason.POOL_CLOSED, true);
      }
      while (s.draining.head != null) {
        forget(s.draining.head, CloseReason.POOL_CLOSED, true);
      }
    }
    checkCloseDone();
  }

  private void checkCloseDone() {
    if (!closed || closeDone || totalCount() != 0) {
      return;
    }
    closeDone = true;
    Scheduler.Cancellable m = maintenanceTask;
    maintenanceTask = null;
    maintenanceAt = Long.MAX_VALUE;
    Scheduler.Cancellable sw = sweepTask;
    sweepTask = null;
    sweepAt = Long.MAX_VALUE;
    List<Scheduler.Cancellable> timers = new ArrayList<>(forceCloseTimers);
    forceCloseTimers.clear();
    defer(
        () -> {
          if (m != null) {
            m.cancel();
          }
          if (sw != null) {
            sw.cancel();
          }
          for (Scheduler.Cancellable t : timers) {
            t.cancel();
          }
          closeFuture.complete(null);
        });
  }

  /** True once {@link #close} was called. */
  public boolean isClosed() {
    enter();
    try {
      return closed;
    } finally {
      unlockAndRun();
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Stats

  /** A snapshot of the pool, per origin and in total, taken at one instant. */
  public PoolStats stats() {
    enter();
    try {
      PoolStats.Builder total = PoolStats.builder(null, maxConnections);
      int connecting = 0;
      int idle = 0;
      int active = 0;
      int draining = 0;
      int inFlight = 0;
      int pending = 0;
      long opened = 0;
      long reused = 0;
      long timeouts = 0;
      long rejected = 0;
      long connectFailures = 0;
      long[] closedCounts = new long[CloseReason.values().length];
      for (SubPool s : subs) {
        int sInFlight = inFlight(s.active) + inFlight(s.draining);
        PoolStats.Builder b = PoolStats.builder(s.origin, maxPerHost);
        b.connections(
                s.connecting.size, s.idle.size, s.active.size + s.draining.size, s.draining.size)
            .load(sInFlight, s.waiters.size)
            .counters(s.opened, s.reused, s.acquireTimeouts, s.rejected, s.connectFailures)
            .peaks(s.peakActive, s.peakPending, s.peakOpen);
        for (CloseReason r : CloseReason.values()) {
          b.closed(r, s.closed[r.ordinal()]);
          closedCounts[r.ordinal()] += s.closed[r.ordinal()];
        }
        total.origin(b.build());
        connecting += s.connecting.size;
        idle += s.idle.size;
        active += s.active.size + s.draining.size;
        draining += s.draining.size;
        inFlight += sInFlight;
        pending += s.waiters.size;
        opened += s.opened;
        reused += s.reused;
        timeouts += s.acquireTimeouts;
        rejected += s.rejected;
        connectFailures += s.connectFailures;
      }
      total
          .connections(connecting, idle, active, draining)
          .load(inFlight, pending)
          .counters(opened, reused, timeouts, rejected, connectFailures)
          .peaks(peakActive, peakPending, peakOpen);
      for (CloseReason r : CloseReason.values()) {
        total.closed(r, closedCounts[r.ordinal()]);
      }
      return total.build();
    } finally {
      unlockAndRun();
    }
  }

  private static int inFlight(ConnList list) {
    int n = 0;
    for (PooledConnection c = list.head; c != null; c = c.next) {
      n += c.inFlight;
    }
    return n;
  }

  private void notePeakActive(SubPool s) {
    s.peakActive = Math.max(s.peakActive, s.activeCount());
    int sum = 0;
    for (SubPool x : subs) {
      sum += x.activeCount();
    }
    peakActive = Math.max(peakActive, sum);
  }

  private void notePeakPending(SubPool s) {
    s.peakPending = Math.max(s.peakPending, s.waiters.size);
    peakPending = Math.max(peakPending, totalWaiters());
  }

  private void notePeakOpen(SubPool s) {
    s.peakOpen = Math.max(s.peakOpen, s.count());
    peakOpen = Math.max(peakOpen, totalCount());
  }

  // ---------------------------------------------------------------------------------------------
  // Totals, derived from the per-origin lists (few origins: summing is cheap). Guarded by lock.

  private int totalCount() {
    int n = 0;
    for (SubPool s : subs) {
      n += s.count();
    }
    return n;
  }

  private int totalIdle() {
    int n = 0;
    for (SubPool s : subs) {
      n += s.idle.size;
    }
    return n;
  }

  private int totalWaiters() {
    int n = 0;
    for (SubPool s : subs) {
      n += s.waiters.size;
    }
    return n;
  }

  private boolean hasWaiters() {
    for (SubPool s : subs) {
      if (s.waiters.size != 0) {
        return true;
      }
    }
    return false;
  }

  /** The idle connection, of any origin, idle the longest; ties go to the first origin. */
  private @Nullable PooledConnection lruIdle() {
    PooledConnection lru = null;
    for (SubPool s : subs) {
      PooledConnection c = s.idle.tail;
      if (c != null && (lru == null || c.idleSince < lru.idleSince)) {
        lru = c;
      }
    }
    return lru;
  }

  // ---------------------------------------------------------------------------------------------
  // Messages

  private PoolTimeoutException timeoutException(Waiter w, long waitedNanos) {
    SubPool s = w.sub;
    String detail =
        "no connection became available within "
            + human(w.timeoutNanos)
            + " (waited "
            + human(waitedNanos)
            + "): "
            + counts(s)
            + "; "
            + bound(s);
    return new PoolTimeoutException(
        s.origin, detail, Duration.ofNanos(w.timeoutNanos), s.lastConnectFailure);
  }

  private String fullMessage(SubPool s) {
    return (totalWaiters() - 1)
        + " calls are already waiting for a connection (limits.maxPendingAcquires="
        + maxPending
        + "): "
        + counts(s)
        + "; "
        + bound(s);
  }

  private static String counts(SubPool s) {
    return "active="
        + s.activeCount()
        + ", idle="
        + s.idle.size
        + ", connecting="
        + s.connecting.size
        + ", pending="
        + s.waiters.size;
  }

  private String bound(SubPool s) {
    if (s.count() >= maxPerHost) {
      return "bound by limits.maxConnectionsPerHost="
          + maxPerHost
          + (s.connecting.size > 0 ? " (" + s.connecting.size + " still being opened)" : "");
    }
    int total = totalCount();
    if (total >= maxConnections) {
      return "bound by limits.maxConnections="
          + maxConnections
          + " ("
          + total
          + " connections to all hosts, none idle)";
    }
    if (s.connecting.size > 0) {
      return "a connection to the host was still being opened";
    }
    return "every connection to the host was at its stream limit";
  }

  private static String human(long nanos) {
    if (nanos >= 1_000_000_000L) {
      return String.format(Locale.ROOT, "%.1f s", nanos / 1e9);
    }
    return String.format(Locale.ROOT, "%.1f ms", nanos / 1e6);
  }

  // ---------------------------------------------------------------------------------------------
  // Plumbing

  /** Takes the lock and finishes the ends handed over meanwhile. */
  private void enter() {
    lock.lock();
    drainEnds();
  }

  /**
   * {@link #enter()} on the hot path (try-acquire): spins a moment before parking. The lock is held
   * for tens of nanoseconds, far less than a park and unpark, and while any thread is parked in the
   * lock's queue every unlock pays a wake-up system call; a short spin keeps most threads out of
   * it. Bounded, and it waits for nothing but this lock.
   */
  private void enterHot() {
    if (!lock.tryLock()) {
      for (int i = 0; ; i++) {
        if (i == HOT_SPINS) {
          lock.lock();
          break;
        }
        Thread.onSpinWait();
        if (!lock.isLocked() && lock.tryLock()) {
          break;
        }
      }
    }
    drainEnds();
  }

  /** Queues an action to run once the lock is released. Guarded by lock. */
  private void defer(Runnable action) {
    actions.add(action);
  }

  /**
   * Finishes handed-over ends, releases the lock, then runs the actions queued under it, on this
   * thread; if an end was handed over after the last check, takes the lock again to finish it. When
   * the lock is held more than once (never on purpose), the outermost release acts.
   */
  private void unlockAndRun() {
    while (true) {
      ArrayList<Runnable> todo = null;
      boolean outermost = lock.getHoldCount() == 1;
      if (outermost) {
        drainEnds();
        if (!actions.isEmpty()) {
          todo = actions;
          actions = new ArrayList<>();
        }
      }
      lock.unlock();
      if (todo != null) {
        for (Runnable r : todo) {
          try {
            r.run();
          } catch (RuntimeException e) {
            LOG.warn("pool action failed (ignored)", e);
          }
        }
      }
      if (!outermost || pendingEnds.get() == null || !lock.tryLock()) {
        return;
      }
    }
  }

  private static Connection connectionOf(PooledConnection c) {
    return Objects.requireNonNull(c.connection, "connection still connecting");
  }

  static long saturatedNanos(Duration d) {
    try {
      return d.toNanos();
    } catch (ArithmeticException e) {
      return d.isNegative() ? Long.MIN_VALUE : Long.MAX_VALUE;
    }
  }

  static long saturatedAdd(long a, long b) {
    long r = a + b;
    // Overflow only when both have the same sign and the result's sign differs.
    if (((a ^ r) & (b ^ r)) < 0) {
      return b > 0 ? Long.MAX_VALUE : Long.MIN_VALUE;
    }
    return r;
  }

  // ---------------------------------------------------------------------------------------------
  // Invariants, for tests

  /**
   * Checks the invariants in this class's comment and {@link SubPool}'s and {@link
   * PooledConnection}'s, throwing {@link AssertionError} with a description of the first one
   * broken.
   *
   * @param liveness also check invariant 5 (no waiter could act); only meaningful when connection
   *     state (health, stream limits) does not change behind the pool's back while checking
   */
  void checkInvariants(boolean liveness) {
    enter();
    try {
      Set<PooledConnection> seen = Collections.newSetFromMap(new IdentityHashMap<>());
      int total = 0;
      int idle = 0;
      int waiting = 0;
      for (SubPool s : subs) {
        checkList(s, s.connecting, seen);
        checkList(s, s.idle, seen);
        checkList(s, s.active, seen);
        checkList(s, s.draining, seen);
        for (PooledConnection c = s.connecting.head; c != null; c = c.next) {
          require(c.connection == null, c + " is connecting but has a connection");
          require(c.inFlight == 0 && c.leaseCount == 0, c + " is connecting but leased");
          Waiter w = c.cause;
          require(
              w == null || (w.connect == c && w.state == Waiter.WAITING && w.sub == s),
              c + " has a stale cause " + w);
        }
        long lastIdleSince = Long.MAX_VALUE;
        for (PooledConnection c = s.idle.head; c != null; c = c.next) {
          require(c.connection != null, c + " is idle but not connected");
          require(c.inFlight == 0 && c.retireReason == null, c + " is idle but busy or retired");
          require(c.idleSince <= lastIdleSince, "idle list of " + s + " is not most recent first");
          lastIdleSince = c.idleSince;
          checkLeases(c);
        }
        for (PooledConnection c = s.active.head; c != null; c = c.next) {
          require(c.connection != null, c + " is active but not connected");
          require(c.inFlight >= 1 && c.retireReason == null, c + " is active but unused/retired");
          require(c.multiplexed || c.inFlight == 1, c + " is HTTP/1.1 with inFlight=" + c.inFlight);
          checkLeases(c);
        }
        for (PooledConnection c = s.draining.head; c != null; c = c.next) {
          require(c.connection != null, c + " is draining but not connected");
          require(c.inFlight >= 1 && c.retireReason != null, c + " is draining but not retiring");
          require(c.multiplexed || c.inFlight == 1, c + " is HTTP/1.1 with inFlight=" + c.inFlight);
          checkLeases(c);
        }
        require(s.count() <= maxPerHost, s + " holds " + s.count() + " > " + maxPerHost);
        long open = (long) s.idle.size + s.active.size + s.draining.size;
        require(
            s.opened - s.closedTotal() == open,
            s + ": opened " + s.opened + " - closed " + s.closedTotal() + " != open " + open);
        long lastSeq = Long.MIN_VALUE;
        int n = 0;
        for (Waiter w = s.waiters.head; w != null; w = w.next) {
          n++;
          require(w.state == Waiter.WAITING && w.linked && w.sub == s, w + " is queued");
          require(w.seq > lastSeq, "waiters of " + s + " out of arrival order");
          require(w.next == null || w.next.prev == w, "waiter links broken at " + w);
          lastSeq = w.seq;
          PooledConnection c = w.connect;
          require(
              c == null || (c.cause == w && c.list == s.connecting), w + " has a stale connect");
          require(!w.isDone(), w + " is queued but its future is done");
        }
        require(n == s.waiters.size, s + " waiter count " + s.waiters.size + " != " + n);
        require(s.activeCount() <= s.peakActive, s + " active above its peak");
        total += s.count();
        idle += s.idle.size;
        waiting += n;
        if (closed) {
          require(n == 0, "closed pool has waiters for " + s);
          require(s.idle.size == 0 && s.connecting.size == 0, "closed pool keeps " + s);
        }
        if (liveness && !closed && n > 0) {
          require(!usableNow(s), s + " has a usable connection yet " + n + " waiters");
          boolean room = totalCount() < maxConnections || totalIdle() > 0;
          require(
              !(room && s.count() < maxPerHost && needsConnect(s)),
              s + " has waiters that could open a connection");
        }
      }
      require(total <= maxConnections, "pool holds " + total + " > " + maxConnections);
      require(idle <= maxIdle, "pool keeps " + idle + " idle > " + maxIdle);
      require(
          waiting <= maxPending + maxConnections,
          "pool has " + waiting + " waiters, bound is " + (maxPending + maxConnections));
      require(total <= peakOpen || subs.length == 0, "open above its peak");
    } finally {
      unlockAndRun();
    }
  }

  /** Whether {@code s} has a connection that could take an exchange now (no side effects). */
  private static boolean usableNow(SubPool s) {
    for (PooledConnection c = s.idle.head; c != null; c = c.next) {
      Connection conn = connectionOf(c);
      if (conn.isHealthy() && conn.maxConcurrentExchanges() > 0) {
        return true;
      }
    }
    if (s.protocol == SubPool.PROTOCOL_HTTP2) {
      for (PooledConnection c = s.active.head; c != null; c = c.next) {
        Connection conn = connectionOf(c);
        if (c.multiplexed && conn.isHealthy() && c.inFlight < conn.maxConcurrentExchanges()) {
          return true;
        }
      }
    }
    return false;
  }

  private static void checkList(SubPool s, ConnList list, Set<PooledConnection> seen) {
    int n = 0;
    PooledConnection prev = null;
    for (PooledConnection c = list.head; c != null; c = c.next) {
      n++;
      require(seen.add(c), c + " is in two lists");
      require(c.list == list && c.sub == s && !c.removed, c + " claims " + c.list + ", in " + list);
      require(c.prev == prev, "links broken at " + c);
      prev = c;
    }
    require(list.tail == prev, "tail of " + list + " of " + s + " is wrong");
    require(n == list.size, list + " of " + s + " has size " + list.size + " but " + n);
  }

  private static void checkLeases(PooledConnection c) {
    int leased = 0;
    for (int i = 0; i < c.leaseCount; i++) {
      PooledLease l = c.leases[i];
      require(l.index == i && l.owner == c, "lease index broken on " + c);
      boolean out = l.state != PooledLease.FREE;
      require(out == (i >= c.freeCount), "lease " + i + " of " + c + " on the wrong side");
      // ENDING is legitimate here: its end won the race but has not reached the lock yet.
      if (out) {
        leased++;
      }
    }
    require(leased == c.inFlight, c + " has " + leased + " leases out but inFlight=" + c.inFlight);
  }

  private static void require(boolean ok, String what) {
    if (!ok) {
      throw new AssertionError("pool invariant broken: " + what);
    }
  }

  @Override
  public String toString() {
    return "ConnectionPool{" + limits + "}";
  }

  // ---------------------------------------------------------------------------------------------

  /** Builds a {@link ConnectionPool}. */
  public static final class Builder {
    private final ConnectionFactory factory;
    private Limits limits = Limits.DEFAULTS;
    private Scheduler scheduler = Scheduler.system();
    private PoolObserver observer = PoolObserver.NONE;
    private boolean leakTracking;

    private Builder(ConnectionFactory factory) {
      this.factory = Objects.requireNonNull(factory, "factory");
    }

    /** The limits; default {@link Limits#DEFAULTS}. */
    public Builder limits(Limits limits) {
      this.limits = Objects.requireNonNull(limits, "limits");
      return this;
    }

    /**
     * Where deadlines and maintenance run, and (through its ticker) the clock; default {@link
     * Scheduler#system()}. Tests pass a {@code ManualScheduler}.
     */
    public Builder scheduler(Scheduler scheduler) {
      this.scheduler = Objects.requireNonNull(scheduler, "scheduler");
      return this;
    }

    /** Who hears the pool's events (the metrics layer); default none. */
    public Builder observer(PoolObserver observer) {
      this.observer = Objects.requireNonNull(observer, "observer");
      return this;
    }

    /**
     * Records the stack of every acquisition so a leaked lease can be logged with it. Costs a stack
     * capture per acquire: for finding a leak, not for production. Default off.
     */
    public Builder leakTracking(boolean on) {
      this.leakTracking = on;
      return this;
    }

    /** Builds the pool; it opens nothing until asked. */
    public ConnectionPool build() {
      return new ConnectionPool(this);
    }
  }
}
