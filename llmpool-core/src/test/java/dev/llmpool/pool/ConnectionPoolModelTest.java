package dev.llmpool.pool;

import dev.llmpool.ConnectFailedException;
import dev.llmpool.Limits;
import dev.llmpool.Origin;
import dev.llmpool.PoolClosedException;
import dev.llmpool.PoolFullException;
import dev.llmpool.PoolStats;
import dev.llmpool.PoolStats.CloseReason;
import dev.llmpool.PoolTimeoutException;
import dev.llmpool.pool.PoolModel.Call;
import dev.llmpool.pool.PoolModel.MConn;
import dev.llmpool.pool.PoolModel.Outcome;
import dev.llmpool.pool.PoolModel.State;
import dev.llmpool.time.ManualScheduler;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Objects;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;

/**
 * Property test: random sequences of operations (acquire, try-acquire, release, discard, cancel,
 * connects that succeed as HTTP/1.1 or HTTP/2 or fail, time passing, the server closing, sending
 * GOAWAY or changing its stream limit, pre-warm, close) run against the pool and against {@link
 * PoolModel} with random limits. After every step the outcome of every call, every connect attempt
 * (origin, cause, cancelled), every close, and every count and counter of the stats must agree, and
 * the pool's own invariants must hold.
 *
 * <p>Seeded: a failure names the seed and the step; replay one run with {@code
 * -Dllmpool.seed=<seed> -Dllmpool.runs=1}.
 */
class ConnectionPoolModelTest {
  static final boolean DEBUG = Boolean.getBoolean("llmpool.debug");
  static final Origin A = Origin.of("https://a.example");
  static final Origin B = Origin.of("http://b.example:8080");
  static final Origin[] ORIGINS = {A, B};

  // Fractions of a millisecond keep deadlines of different kinds from ever falling on the same
  // instant (all operations happen at whole milliseconds), so their order is never a tie.
  static final long MS = 1_000_000L;
  static final long TIMEOUT_FRACTION = 300_000L;
  static final long KEEP_ALIVE = 2_000 * MS + 700_000L;
  static final long LIFETIME = 7_000 * MS + 110_000L;
  static final long GRACE = 1_500 * MS + 500_000L;

  @Test
  void randomOperationSequencesAgreeWithTheModel() {
    long base = Long.getLong("llmpool.seed", 0x5EED_0001L);
    int runs = Integer.getInteger("llmpool.runs", 300);
    for (int i = 0; i < runs; i++) {
      new Run(base + i).go(250);
    }
  }

  static final class Held {
    final Lease lease;
    final MConn conn;

    Held(Lease lease, MConn conn) {
      this.lease = lease;
      this.conn = conn;
    }
  }

  static final class Run {
    final long seed;
    final Random rnd;
    final Limits limits;
    final boolean[] expectMux = new boolean[2];
    final ManualScheduler scheduler = new ManualScheduler();
    final FakeConnectionFactory factory;
    final ConnectionPool pool;
    final PoolModel model;
    final List<Call> calls = new ArrayList<>();
    final IdentityHashMap<Call, CompletableFuture<Lease>> futures = new IdentityHashMap<>();
    final IdentityHashMap<Call, Lease> tried = new IdentityHashMap<>();
    final Set<Call> settled = java.util.Collections.newSetFromMap(new IdentityHashMap<>());
    final IdentityHashMap<Call, Throwable> connectErrors = new IdentityHashMap<>();
    final List<Held> held = new ArrayList<>();
    final ArrayDeque<String> history = new ArrayDeque<>();
    int step;

    Run(long seed) {
      this.seed = seed;
      this.rnd = new Random(seed);
      int max = 1 + rnd.nextInt(5);
      Limits.Builder b =
          Limits.builder()
              .maxConnections(max)
              .maxConnectionsPerHost(1 + rnd.nextInt(max))
              .maxPendingAcquires(rnd.nextInt(5))
              .keepAliveExpiry(Duration.ofNanos(KEEP_ALIVE))
              .maxConnectionLifetime(Duration.ofNanos(LIFETIME));
      if (rnd.nextBoolean()) {
        b.maxIdleConnections(rnd.nextInt(max + 1));
      }
      limits = b.build();
      expectMux[0] = rnd.nextBoolean();
      expectMux[1] = rnd.nextBoolean();
      factory =
          new FakeConnectionFactory() {
            @Override
            public boolean expectsMultiplexing(Origin origin) {
              return expectMux[origin.equals(A) ? 0 : 1];
            }
          };
      pool = ConnectionPool.builder(factory).limits(limits).scheduler(scheduler).build();
      model = new PoolModel(limits, o -> expectMux[o.equals(A) ? 0 : 1]);
    }

    void go(int steps) {
      for (step = 0; step < steps; step++) {
        String op = null;
        try {
          op = randomStep();
          remember(op);
          if (DEBUG) {
            System.err.println(
                step
                    + ": "
                    + op
                    + "\n   engine "
                    + pool.stats()
                    + "\n   model "
                    + model.conns
                    + " waiters="
                    + model.waiters.size()
                    + " closedA="
                    + (model.origins.get(A) == null ? null : model.origins.get(A).closed)
                    + " closedB="
                    + (model.origins.get(B) == null ? null : model.origins.get(B).closed)
                    + "\n   engineA="
                    + pool.stats().forOrigin(A));
          }
          compare();
        } catch (AssertionError | RuntimeException e) {
          throw new AssertionError(
              "seed="
                  + seed
                  + " step="
                  + step
                  + " op="
                  + op
                  + " limits="
                  + limits
                  + " expectMux="
                  + expectMux[0]
                  + "/"
                  + expectMux[1]
                  + "\nlast steps:\n  "
                  + String.join("\n  ", history)
                  + "\n"
                  + e.getMessage(),
              e);
        }
      }
    }

    private void remember(String op) {
      history.addLast(step + ": " + op);
      if (history.size() > 25) {
        history.removeFirst();
      }
    }

    private Origin origin() {
      return ORIGINS[rnd.nextInt(2)];
    }

    private String randomStep() {
      int dice = rnd.nextInt(1000);
      if (dice < 250) {
        Origin o = origin();
        Call c = new Call(calls.size(), o);
        calls.add(c);
        long timeout = (1 + rnd.nextInt(4000)) * MS + TIMEOUT_FRACTION;
        futures.put(c, pool.acquire(o, timeout, c));
        model.acquire(c, timeout);
        return "acquire " + c.id + " " + o.host() + " timeout=" + timeout / MS + "ms";
      } else if (dice < 350) {
        Origin o = origin();
        Call c = new Call(calls.size(), o);
        calls.add(c);
        Lease l = pool.tryAcquire(o);
        if (l != null) {
          tried.put(c, l);
        }
        model.tryAcquire(c);
        return "tryAcquire " + c.id + " " + o.host() + " -> " + (l != null);
      } else if (dice < 540) {
        if (held.isEmpty()) {
          return "nothing to end";
        }
        Held h = held.remove(rnd.nextInt(held.size()));
        boolean discard = rnd.nextInt(5) == 0;
        if (discard) {
          h.lease.discard();
        } else {
          h.lease.release();
        }
        model.end(h.conn, discard);
        return (discard ? "discard " : "release ") + h.conn;
      } else if (dice < 590) {
        List<Call> waiting = new ArrayList<>();
        for (Call c : calls) {
          CompletableFuture<Lease> f = futures.get(c);
          if (f != null && !f.isDone()) {
            waiting.add(c);
          }
        }
        if (waiting.isEmpty()) {
          return "nothing to cancel";
        }
        Call c = waiting.get(rnd.nextInt(waiting.size()));
        Objects.requireNonNull(futures.get(c)).cancel(false);
        model.cancel(c);
        return "cancel " + c;
      } else if (dice < 800) {
        List<FakeConnectionFactory.Attempt> pending = factory.pending();
        if (pending.isEmpty()) {
          return "no connect to complete";
        }
        FakeConnectionFactory.Attempt a = pending.get(rnd.nextInt(pending.size()));
        MConn m = model.conns.get(factory.attempts().indexOf(a));
        int kind = rnd.nextInt(10);
        if (kind < 2) {
          ConnectFailedException e = a.fail();
          Call cause = m.waiter == null ? null : m.waiter.call;
          model.connectFailed(m);
          if (cause != null) {
            connectErrors.put(cause, e);
          }
          return "connect fails " + m;
        }
        FakeConnection c = kind < 6 ? a.succeedHttp1() : a.succeedHttp2(1 + rnd.nextInt(3));
        model.connected(m, c);
        return "connect succeeds " + m + " as " + c;
      } else if (dice < 920) {
        long ms = rnd.nextInt(4) == 0 ? rnd.nextInt(8000) : rnd.nextInt(400);
        scheduler.advance(Duration.ofMillis(ms));
        model.advanceTo(model.now + ms * MS);
        return "advance " + ms + "ms";
      } else if (dice < 985) {
        List<MConn> open = new ArrayList<>();
        for (MConn m : model.conns) {
          if (m.state == State.IDLE || m.state == State.ACTIVE || m.state == State.DRAINING) {
            open.add(m);
          }
        }
        if (open.isEmpty()) {
          return "no connection for the server to act on";
        }
        MConn m = open.get(rnd.nextInt(open.size()));
        FakeConnection f = Objects.requireNonNull(m.fake);
        return switch (rnd.nextInt(4)) {
          case 0 -> {
            f.serverClose();
            model.serverClosed(m);
            yield "server closes " + m;
          }
          case 1 -> {
            f.goAway();
            model.goAway(m);
            yield "goaway " + m;
          }
          case 2 -> {
            if (!m.mux) {
              yield "no settings on h1";
            }
            int streams = rnd.nextInt(4);
            f.settings(streams);
            model.capacityChanged(m);
            yield "settings " + streams + " on " + m;
          }
          default -> {
            if (!model.waiters(m.origin).isEmpty()) {
              yield "no silent death while calls wait"; // see PoolModel: when it is found
            }
            f.dieSilently();
            yield "dies silently " + m;
          }
        };
      } else if (dice < 995) {
        Origin o = origin();
        int n = 1 + rnd.nextInt(3);
        var unused = pool.prewarm(o, n);
        model.prewarm(o, n);
        return "prewarm " + o.host() + " " + n;
      } else {
        long grace = rnd.nextBoolean() ? 0 : GRACE;
        var unused = pool.close(Duration.ofNanos(grace));
        model.close(grace);
        return "close grace=" + grace / MS + "ms";
      }
    }

    /** Engine and model must agree on everything observable. */
    private void compare() {
      pool.checkInvariants(true);
      IdentityHashMap<FakeConnection, Integer> index = new IdentityHashMap<>();
      List<FakeConnectionFactory.Attempt> attempts = factory.attempts();
      for (Origin o : ORIGINS) {
        int engine = pool.learntStreamsPerConnection(o);
        PoolModel.Counters k = model.origins.get(o);
        int modelled = k == null ? 0 : k.streamsPerConnection;
        check(engine == modelled, "streams per connection of " + o, engine, modelled);
      }
      check(attempts.size() == model.conns.size(), "attempts", attempts.size(), model.conns.size());
      for (int i = 0; i < attempts.size(); i++) {
        FakeConnectionFactory.Attempt a = attempts.get(i);
        MConn m = model.conns.get(i);
        check(a.origin.equals(m.origin), "attempt " + i + " origin", a.origin, m.origin);
        check(a.cause == m.cause, "attempt " + i + " cause", a.cause, m.cause);
        check(a.isCancelled() == m.cancelled, "attempt " + i + " cancelled", a.isCancelled(), m);
        FakeConnection f = a.connection;
        if (f != null) {
          index.put(f, i);
          check(f.isClosed() == m.closedByPool, "closed by pool " + m, f.isClosed(), m);
        }
      }
      for (Call c : calls) {
        if (settled.contains(c)) {
          continue;
        }
        CompletableFuture<Lease> f = futures.get(c);
        Lease lease;
        Outcome engine;
        if (f == null) {
          lease = tried.get(c);
          engine = lease == null ? Outcome.CANCELLED : Outcome.LEASE;
        } else if (!f.isDone()) {
          check(c.outcome == Outcome.PENDING, "call " + c.id, "pending", c);
          continue;
        } else {
          lease = null;
          engine = outcomeOf(f, c);
          if (engine == Outcome.LEASE) {
            lease = f.join();
          }
        }
        check(engine == c.outcome, "outcome of call " + c.id, engine, c);
        if (lease != null) {
          MConn m = Objects.requireNonNull(c.conn);
          Integer i = index.get((FakeConnection) lease.connection());
          check(i != null && i == m.index, "connection of call " + c.id, i, m);
          check(lease.reused() == c.reused, "reused of call " + c.id, lease.reused(), c.reused);
          check(
              lease.waitedNanos() == c.waited, "waited of " + c.id, lease.waitedNanos(), c.waited);
          held.add(new Held(lease, m));
        }
        settled.add(c);
      }
      PoolStats total = pool.stats();
      int peakActive = total.peakActive();
      check(peakActive == model.peakActive, "peakActive", peakActive, model.peakActive);
      check(total.peakPending() == model.peakPending, "peakPending", total, model.peakPending);
      check(total.peakOpen() == model.peakOpen, "peakOpen", total, model.peakOpen);
      for (Origin o : model.origins.keySet()) {
        PoolStats s = total.forOrigin(o);
        check(s != null, "stats of " + o, null, o);
        PoolModel.Counters k = model.counters(o);
        String at = o.host() + " ";
        check(s.connecting() == model.conns(o, State.CONNECTING).size(), at + "connecting", s, 0);
        check(s.idle() == model.conns(o, State.IDLE).size(), at + "idle", s, 0);
        check(s.active() == model.activeCount(o), at + "active", s, model.activeCount(o));
        check(s.draining() == model.conns(o, State.DRAINING).size(), at + "draining", s, 0);
        check(s.pending() == model.waiters(o).size(), at + "pending", s, model.waiters(o).size());
        int inFlight = 0;
        for (MConn m : model.conns) {
          if (m.origin.equals(o) && m.state != State.GONE) {
            inFlight += m.inFlight;
          }
        }
        check(s.inFlightExchanges() == inFlight, at + "inFlight", s, inFlight);
        check(s.opened() == k.opened, at + "opened", s, k.opened);
        for (CloseReason r : CloseReason.values()) {
          long expected = k.closed.getOrDefault(r, 0L);
          check(s.closed(r) == expected, at + "closed " + r.label(), s.closed(r), expected);
        }
        check(s.reused() == k.reused, at + "reused", s, k.reused);
        check(s.acquireTimeouts() == k.timeouts, at + "timeouts", s, k.timeouts);
        check(s.rejected() == k.rejected, at + "rejected", s, k.rejected);
        check(s.connectFailures() == k.connectFailures, at + "connectFailures", s, k);
        check(s.peakActive() == k.peakActive, at + "peakActive", s, k.peakActive);
        check(s.peakPending() == k.peakPending, at + "peakPending", s, k.peakPending);
        check(s.peakOpen() == k.peakOpen, at + "peakOpen", s, k.peakOpen);
      }
    }

    private Outcome outcomeOf(CompletableFuture<Lease> f, Call c) {
      try {
        f.join();
        return Outcome.LEASE;
      } catch (CancellationException e) {
        return Outcome.CANCELLED;
      } catch (CompletionException e) {
        Throwable t = e.getCause();
        if (t instanceof PoolTimeoutException) {
          return Outcome.TIMEOUT;
        } else if (t instanceof PoolFullException) {
          return Outcome.FULL;
        } else if (t instanceof PoolClosedException) {
          return Outcome.CLOSED;
        } else if (t instanceof ConnectFailedException) {
          // The very failure of the connect opened for this call, nobody else's.
          check(t == connectErrors.get(c), "connect failure of " + c.id, t, connectErrors.get(c));
          return Outcome.CONNECT_FAILED;
        }
        throw new AssertionError("unexpected failure", t);
      }
    }

    private static void check(
        boolean ok, String what, @Nullable Object engine, @Nullable Object m) {
      if (!ok) {
        throw new AssertionError(what + ": engine=" + engine + ", model=" + m);
      }
    }
  }
}
