package dev.llmpool.pool;

import dev.llmpool.Limits;
import dev.llmpool.Origin;
import dev.llmpool.PoolStats.CloseReason;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import org.jspecify.annotations.Nullable;

/**
 * A deliberately simple model of the pool's specification, for {@link ConnectionPoolModelTest}:
 * plain lists scanned from the start, everything recomputed, no intrusive links, no lock, no
 * deferred actions. It says what must happen; the engine must agree after every step.
 *
 * <p>The policy, as the specification states it: reuse first (HTTP/1.1: most recently used idle
 * connection; HTTP/2: an idle one, else the least loaded with a free slot, earliest to have become
 * active on a tie), else open within the limits (evicting the least recently used idle connection
 * of any host at the total limit), else wait; the oldest waiting call that can act goes first,
 * whatever its host; HTTP/2 origins open one connection at a time; a connect failure fails the call
 * it was opened for while that call waits.
 */
final class PoolModel {
  enum State {
    CONNECTING,
    IDLE,
    ACTIVE,
    DRAINING,
    GONE
  }

  enum Outcome {
    PENDING,
    LEASE,
    TIMEOUT,
    FULL,
    CLOSED,
    CONNECT_FAILED,
    CANCELLED
  }

  /** A connection; {@code index} is the index of its connect attempt at the factory. */
  static final class MConn {
    final int index;
    final Origin origin;
    final @Nullable Call cause;
    State state = State.CONNECTING;
    @Nullable MWaiter waiter; // the waiting call this connect is attributed to
    @Nullable FakeConnection fake;
    boolean mux;
    int inFlight;
    long exchanges;
    long idleSince;
    long idleSeq;
    long activeSeq;
    long connectedAt;
    long idleDeadline;
    @Nullable CloseReason retireReason;
    boolean closedByPool;
    boolean cancelled;

    MConn(int index, Origin origin, @Nullable Call cause) {
      this.index = index;
      this.origin = origin;
      this.cause = cause;
    }

    boolean healthy() {
      return fake != null && fake.peerAlive;
    }

    int cap() {
      return fake == null ? 0 : fake.maxConcurrent;
    }

    @Override
    public String toString() {
      return "m#" + index + "(" + origin.host() + "," + state + ",inFlight=" + inFlight + ")";
    }
  }

  /** One acquire or tryAcquire of the test. */
  static final class Call {
    final int id;
    final Origin origin;
    Outcome outcome = Outcome.PENDING;
    @Nullable MConn conn;
    boolean reused;
    long waited;
    @Nullable MConn failedConnect;

    Call(int id, Origin origin) {
      this.id = id;
      this.origin = origin;
    }

    @Override
    public String toString() {
      return "call-"
          + id
          + "("
          + origin.host()
          + ","
          + outcome
          + (conn == null ? "" : "," + conn)
          + ")";
    }
  }

  static final class MWaiter {
    final Call call;
    final long seq;
    final long start;
    final long deadline; // Long.MAX_VALUE: none
    @Nullable MConn connect;

    MWaiter(Call call, long seq, long start, long deadline) {
      this.call = call;
      this.seq = seq;
      this.start = start;
      this.deadline = deadline;
    }
  }

  static final class Counters {
    long opened;
    final Map<CloseReason, Long> closed = new EnumMap<>(CloseReason.class);
    long reused;
    long timeouts;
    long rejected;
    long connectFailures;
    int peakActive;
    int peakPending;
    int peakOpen;
    int protocol; // SubPool.PROTOCOL_*
    int streamsPerConnection; // the stream limit last learnt from an HTTP/2 connection, 0: none

    void close(CloseReason r) {
      closed.merge(r, 1L, Long::sum);
    }
  }

  final int maxConnections;
  final int maxPerHost;
  final int maxIdle;
  final int maxPending;
  final long keepAlive;
  final long lifetime;
  final Predicate<Origin> factoryExpectsMux;

  long now;
  boolean closed;
  long forceCloseAt = Long.MAX_VALUE;
  long seq;
  long recency;
  int peakActive;
  int peakPending;
  int peakOpen;
  final List<MConn> conns = new ArrayList<>(); // by attempt index
  final List<MWaiter> waiters = new ArrayList<>(); // arrival order
  final Map<Origin, Counters> origins = new LinkedHashMap<>(); // the pool's order of origins

  PoolModel(Limits l, Predicate<Origin> factoryExpectsMux) {
    this.maxConnections = l.maxConnections();
    this.maxPerHost = l.maxConnectionsPerHost();
    this.maxIdle = l.maxIdleConnections();
    this.maxPending = l.maxPendingAcquires();
    this.keepAlive = l.keepAliveExpiry().toNanos();
    this.lifetime = l.maxConnectionLifetime().toNanos();
    this.factoryExpectsMux = factoryExpectsMux;
  }

  // ---- queries

  Counters counters(Origin o) {
    return origins.computeIfAbsent(o, x -> new Counters());
  }

  List<MConn> conns(Origin o, State s) {
    List<MConn> out = new ArrayList<>();
    for (MConn c : conns) {
      if (c.origin.equals(o) && c.state == s) {
        out.add(c);
      }
    }
    return out;
  }

  int count(Origin o) {
    int n = 0;
    for (MConn c : conns) {
      if (c.origin.equals(o) && c.state != State.GONE) {
        n++;
      }
    }
    return n;
  }

  int total() {
    int n = 0;
    for (MConn c : conns) {
      if (c.state != State.GONE) {
        n++;
      }
    }
    return n;
  }

  int idleTotal() {
    int n = 0;
    for (MConn c : conns) {
      if (c.state == State.IDLE) {
        n++;
      }
    }
    return n;
  }

  int activeCount(Origin o) {
    return conns(o, State.ACTIVE).size() + conns(o, State.DRAINING).size();
  }

  List<MWaiter> waiters(Origin o) {
    List<MWaiter> out = new ArrayList<>();
    for (MWaiter w : waiters) {
      if (w.call.origin.equals(o)) {
        out.add(w);
      }
    }
    return out;
  }

  boolean expectsMux(Origin o) {
    int p = counters(o).protocol;
    return p == SubPool.PROTOCOL_HTTP2
        || (p == SubPool.PROTOCOL_UNKNOWN && factoryExpectsMux.test(o));
  }

  // ---- policy

  /** A connection of {@code o} to use now; closes dead idle ones found on the way (MRU first). */
  @Nullable MConn usable(Origin o) {
    List<MConn> idle = conns(o, State.IDLE);
    idle.sort((x, y) -> Long.compare(y.idleSeq, x.idleSeq));
    for (MConn c : idle) {
      if (!c.healthy()) {
        close(c, CloseReason.SERVER_CLOSED, true);
      } else if (c.cap() > 0) {
        return c;
      }
    }
    if (counters(o).protocol != SubPool.PROTOCOL_HTTP2) {
      return null;
    }
    MConn best = null;
    for (MConn c : conns(o, State.ACTIVE)) {
      if (c.mux && c.healthy() && c.inFlight < c.cap()) {
        if (best == null
            || c.inFlight < best.inFlight
            || (c.inFlight == best.inFlight && c.activeSeq < best.activeSeq)) {
          best = c;
        }
      }
    }
    return best;
  }

  void lease(Call call, MConn c, long waited) {
    call.outcome = Outcome.LEASE;
    call.conn = c;
    call.waited = waited;
    call.reused = c.exchanges++ > 0;
    if (call.reused) {
      counters(c.origin).reused++;
    }
    if (c.inFlight++ == 0) {
      c.state = State.ACTIVE;
      c.activeSeq = ++recency;
      Counters k = counters(c.origin);
      k.peakActive = Math.max(k.peakActive, activeCount(c.origin));
      int sum = 0;
      for (Origin o : origins.keySet()) {
        sum += activeCount(o);
      }
      peakActive = Math.max(peakActive, sum);
    }
  }

  boolean needsConnect(Origin o) {
    int w = waiters(o).size();
    if (w == 0) {
      return false;
    }
    int connecting = conns(o, State.CONNECTING).size();
    if (expectsMux(o)) {
      int per = counters(o).streamsPerConnection;
      return per <= 0 ? connecting == 0 : w > (long) connecting * per;
    }
    return w > connecting;
  }

  @Nullable MWaiter firstUnattributed(Origin o) {
    for (MWaiter w : waiters(o)) {
      if (w.connect == null) {
        return w;
      }
    }
    return null;
  }

  @Nullable MConn lruIdle() {
    MConn lru = null;
    for (Origin o : origins.keySet()) {
      MConn tail = null;
      for (MConn c : conns(o, State.IDLE)) {
        if (tail == null || c.idleSeq < tail.idleSeq) {
          tail = c;
        }
      }
      if (tail != null && (lru == null || tail.idleSince < lru.idleSince)) {
        lru = tail;
      }
    }
    return lru;
  }

  void dispatch() {
    if (closed) {
      return;
    }
    boolean acted = true;
    while (acted) {
      acted = false;
      for (MWaiter w : new ArrayList<>(waiters)) {
        Origin o = w.call.origin;
        List<MWaiter> mine = waiters(o);
        if (mine.get(0) == w) {
          MConn c = usable(o);
          if (c != null) {
            serve(w, c);
            acted = true;
            break;
          }
        }
        boolean room = total() < maxConnections || idleTotal() > 0;
        if (room && count(o) < maxPerHost && needsConnect(o) && firstUnattributed(o) == w) {
          if (total() >= maxConnections) {
            close(lruIdle(), CloseReason.EVICTED_LRU, true);
          }
          startConnect(o, w);
          acted = true;
          break;
        }
      }
    }
  }

  void serve(MWaiter w, MConn c) {
    removeWaiter(w);
    lease(w.call, c, now - w.start);
  }

  void removeWaiter(MWaiter w) {
    waiters.remove(w);
    if (w.connect != null) {
      w.connect.waiter = null;
      w.connect = null;
    }
  }

  MConn startConnect(Origin o, @Nullable MWaiter w) {
    MConn c = new MConn(conns.size(), o, w == null ? null : w.call);
    conns.add(c);
    if (w != null) {
      c.waiter = w;
      w.connect = c;
    }
    Counters k = counters(o);
    k.peakOpen = Math.max(k.peakOpen, count(o));
    peakOpen = Math.max(peakOpen, total());
    return c;
  }

  void close(@Nullable MConn c, CloseReason reason, boolean closeIt) {
    if (c == null) {
      throw new AssertionError("model: nothing to close");
    }
    if (c.state == State.CONNECTING) {
      c.cancelled = true;
      if (c.waiter != null) {
        c.waiter.connect = null;
        c.waiter = null;
      }
    } else {
      counters(c.origin).close(reason);
      c.closedByPool |= closeIt;
    }
    c.state = State.GONE;
  }

  void retire(MConn c, CloseReason reason) {
    if (c.inFlight == 0) {
      close(c, reason, true);
    } else if (c.retireReason == null) {
      c.state = State.DRAINING;
      c.retireReason = reason;
    }
  }

  /** Serve waiters, then trim idle connections to the cap, then serve what that freed. */
  void settle() {
    if (!waiters.isEmpty()) {
      dispatch();
    }
    boolean trimmed = false;
    while (idleTotal() > maxIdle) {
      close(lruIdle(), CloseReason.EVICTED_LRU, true);
      trimmed = true;
    }
    if (trimmed && !waiters.isEmpty()) {
      dispatch();
    }
  }

  void becomeIdle(MConn c) {
    c.state = State.IDLE;
    c.idleSince = now;
    c.idleSeq = ++recency;
    c.idleDeadline = now + keepAlive;
  }

  // ---- operations

  void acquire(Call call, long timeoutNanos) {
    counters(call.origin);
    if (closed) {
      call.outcome = Outcome.CLOSED;
      return;
    }
    if (waiters(call.origin).isEmpty()) {
      MConn c = usable(call.origin);
      if (c != null) {
        lease(call, c, 0);
        return;
      }
    }
    MWaiter w = new MWaiter(call, ++seq, now, now + timeoutNanos);
    waiters.add(w);
    dispatch();
    if (waiters.contains(w)) {
      if (w.connect == null && waiters.size() - 1 >= maxPending) {
        removeWaiter(w);
        counters(call.origin).rejected++;
        call.outcome = Outcome.FULL;
      } else {
        Counters k = counters(call.origin);
        k.peakPending = Math.max(k.peakPending, waiters(call.origin).size());
        peakPending = Math.max(peakPending, waiters.size());
      }
    }
  }

  void tryAcquire(Call call) {
    if (!origins.containsKey(call.origin) || closed || !waiters(call.origin).isEmpty()) {
      call.outcome = Outcome.CANCELLED; // "null": the test treats it as no lease
      return;
    }
    MConn c = usable(call.origin);
    if (c == null) {
      call.outcome = Outcome.CANCELLED;
    } else {
      lease(call, c, 0);
    }
  }

  void prewarm(Origin o, int n) {
    counters(o);
    if (closed) {
      return;
    }
    while (count(o) < n && count(o) < maxPerHost && total() < maxConnections) {
      startConnect(o, null);
    }
  }

  void end(MConn c, boolean discard) {
    c.inFlight--;
    if (c.state == State.GONE) {
      return;
    }
    if (discard) {
      retire(c, CloseReason.DISCARDED);
    } else if (c.retireReason != null) {
      if (c.inFlight == 0) {
        close(c, c.retireReason, true);
      }
    } else if (c.inFlight == 0) {
      if (!c.healthy()) {
        close(c, CloseReason.SERVER_CLOSED, true);
      } else if (now - c.connectedAt >= lifetime) {
        close(c, CloseReason.LIFETIME, true);
      } else {
        becomeIdle(c);
      }
    }
    settle();
  }

  void cancel(Call call) {
    for (MWaiter w : waiters) {
      if (w.call == call) {
        removeWaiter(w);
        call.outcome = Outcome.CANCELLED;
        return;
      }
    }
  }

  void connectFailed(MConn c) {
    if (c.state == State.GONE) {
      return;
    }
    c.state = State.GONE;
    counters(c.origin).connectFailures++;
    MWaiter w = c.waiter;
    if (w != null) {
      removeWaiter(w);
      w.call.outcome = Outcome.CONNECT_FAILED;
      w.call.failedConnect = c;
    }
    dispatch();
  }

  void connected(MConn c, FakeConnection fake) {
    c.fake = fake;
    if (c.state == State.GONE) {
      counters(c.origin).opened++;
      counters(c.origin).close(CloseReason.POOL_CLOSED);
      c.closedByPool = true;
      return;
    }
    c.mux = fake.multiplexed;
    c.connectedAt = now;
    Counters k = counters(c.origin);
    k.protocol = c.mux ? SubPool.PROTOCOL_HTTP2 : SubPool.PROTOCOL_HTTP1;
    learnStreamLimit(c);
    k.opened++;
    if (c.waiter != null) {
      c.waiter.connect = null;
      c.waiter = null;
    }
    becomeIdle(c);
    settle();
  }

  void serverClosed(MConn c) {
    CloseReason r =
        c.retireReason == CloseReason.GOAWAY ? CloseReason.GOAWAY : CloseReason.SERVER_CLOSED;
    close(c, r, false);
    if (!waiters.isEmpty()) {
      dispatch();
    }
  }

  void goAway(MConn c) {
    retire(c, c.mux ? CloseReason.GOAWAY : CloseReason.SERVER_CLOSED);
    if (!waiters.isEmpty()) {
      dispatch();
    }
  }

  void capacityChanged(MConn c) {
    if (c.state != State.GONE && c.fake != null) {
      learnStreamLimit(c);
    }
    if (!waiters.isEmpty()) {
      dispatch();
    }
  }

  /**
   * The engine's rule: a healthy HTTP/2 connection's limit, when above 0, is the origin's. Health
   * as the engine saw it when it learnt, before acting: the peer's side ({@code peerAlive}); the
   * pool's own close of the connection, which the fake shows by the time the model runs, came
   * after.
   */
  private void learnStreamLimit(MConn c) {
    FakeConnection f = c.fake;
    if (c.mux && f != null && f.peerAlive && f.maxConcurrent > 0) {
      counters(c.origin).streamsPerConnection = f.maxConcurrent;
    }
  }

  void close(long graceNanos) {
    if (!closed) {
      closed = true;
      for (Origin o : origins.keySet()) {
        for (MWaiter w : waiters(o)) {
          removeWaiter(w);
          w.call.outcome = Outcome.CLOSED;
        }
        for (MConn c : conns(o, State.IDLE)) {
          close(c, CloseReason.POOL_CLOSED, true);
        }
        for (MConn c : conns(o, State.CONNECTING)) {
          close(c, CloseReason.POOL_CLOSED, true);
        }
        List<MConn> active = conns(o, State.ACTIVE);
        active.sort((x, y) -> Long.compare(x.activeSeq, y.activeSeq));
        for (MConn c : active) {
          retire(c, CloseReason.POOL_CLOSED);
        }
      }
    }
    if (graceNanos <= 0) {
      forceClose();
    } else {
      forceCloseAt = Math.min(forceCloseAt, now + graceNanos);
    }
  }

  void forceClose() {
    for (MConn c : conns) {
      if (c.state == State.ACTIVE || c.state == State.DRAINING) {
        close(c, CloseReason.POOL_CLOSED, true);
      }
    }
  }

  /** Moves time to {@code target}, running deadlines and maintenance at their own instants. */
  void advanceTo(long target) {
    while (true) {
      long next = Long.MAX_VALUE;
      for (MWaiter w : waiters) {
        next = Math.min(next, w.deadline);
      }
      long maintenance = nextMaintenance();
      long t = Math.min(Math.min(next, maintenance), forceCloseAt);
      if (t > target) {
        break;
      }
      now = t;
      if (t == next) {
        for (MWaiter w : new ArrayList<>(waiters)) {
          if (w.deadline == t) {
            removeWaiter(w);
            counters(w.call.origin).timeouts++;
            w.call.outcome = Outcome.TIMEOUT;
          }
        }
      } else if (t == maintenance) {
        maintain();
      } else {
        forceCloseAt = Long.MAX_VALUE;
        if (total() > 0) {
          forceClose();
        }
      }
    }
    now = target;
  }

  private long nextMaintenance() {
    long next = Long.MAX_VALUE;
    for (MConn c : conns) {
      if (c.state == State.IDLE) {
        next = Math.min(next, Math.min(c.idleDeadline, c.connectedAt + lifetime));
      } else if (c.state == State.ACTIVE) {
        next = Math.min(next, c.connectedAt + lifetime);
      }
    }
    return next;
  }

  private void maintain() {
    for (Origin o : origins.keySet()) {
      List<MConn> idle = conns(o, State.IDLE);
      idle.sort((x, y) -> Long.compare(x.idleSeq, y.idleSeq));
      for (MConn c : idle) {
        if (now >= c.idleDeadline) {
          close(c, CloseReason.IDLE_EXPIRED, true);
        } else if (now >= c.connectedAt + lifetime) {
          close(c, CloseReason.LIFETIME, true);
        }
      }
      List<MConn> active = conns(o, State.ACTIVE);
      active.sort((x, y) -> Long.compare(x.activeSeq, y.activeSeq));
      for (MConn c : active) {
        if (now >= c.connectedAt + lifetime) {
          retire(c, CloseReason.LIFETIME);
        }
      }
    }
    if (!waiters.isEmpty()) {
      dispatch();
    }
  }
}
