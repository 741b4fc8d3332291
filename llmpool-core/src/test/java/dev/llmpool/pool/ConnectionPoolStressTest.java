package dev.llmpool.pool;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llmpool.ConnectFailedException;
import dev.llmpool.Limits;
import dev.llmpool.Origin;
import dev.llmpool.PoolClosedException;
import dev.llmpool.PoolFullException;
import dev.llmpool.PoolStats;
import dev.llmpool.PoolTimeoutException;
import dev.llmpool.time.ManualScheduler;
import java.lang.reflect.Method;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;

/**
 * Many threads (platform and, where the JDK has them, virtual) acquire, release, discard, cancel
 * and time out against a small pool while other threads complete and fail connects, move the clock,
 * and make the "server" send GOAWAY, close connections and change stream limits. Every thread
 * checks the pool's invariants after each of its steps; an independent count on each fake
 * connection catches an HTTP/1.1 connection handed to two calls. At the end every call has ended
 * exactly one way and the pool is back to no active connection.
 */
class ConnectionPoolStressTest {
  static final Origin[] ORIGINS = {
    Origin.of("https://h1.example"),
    Origin.of("https://h2.example"),
    Origin.of("https://mix.example")
  };
  static final int MAX_STREAMS_EVER = 4;

  final ManualScheduler scheduler = new ManualScheduler();
  final ConcurrentLinkedQueue<FakeConnectionFactory.Attempt> connects =
      new ConcurrentLinkedQueue<>();
  final List<FakeConnection> live = Collections.synchronizedList(new ArrayList<>());
  final ConcurrentLinkedQueue<Throwable> problems = new ConcurrentLinkedQueue<>();
  final AtomicBoolean stop = new AtomicBoolean();
  final AtomicInteger outcomes = new AtomicInteger();
  final AtomicInteger acquires = new AtomicInteger();

  final FakeConnectionFactory factory =
      new FakeConnectionFactory() {
        @Override
        public CompletableFuture<Connection> open(
            Origin origin, ConnectionListener listener, @Nullable Object cause) {
          CompletableFuture<Connection> f = super.open(origin, listener, cause);
          connects.add(attempt(count() - 1));
          return f;
        }
      };

  final ConnectionPool pool =
      ConnectionPool.builder(factory)
          .limits(
              Limits.builder()
                  .maxConnections(6)
                  .maxConnectionsPerHost(4)
                  .maxIdleConnections(maxIdleConnections())
                  .maxPendingAcquires(12)
                  .keepAliveExpiry(Duration.ofMillis(300))
                  .maxConnectionLifetime(Duration.ofSeconds(2))
                  .build())
          .scheduler(scheduler)
          .build();

  /**
   * Below {@code maxConnections} here, so that idle connections are trimmed; {@link
   * ConnectionPoolNoIdleCapStressTest} lifts the cap (the default), so that every released
   * connection stays idle.
   */
  int maxIdleConnections() {
    return 3;
  }

  @Test
  void invariantsHoldAfterEveryStepUnderManyThreads() throws Exception {
    List<Thread> workers = new ArrayList<>();
    int platform = 8;
    for (int i = 0; i < platform; i++) {
      workers.add(new Thread(worker(1000 + i, 400), "worker-" + i));
    }
    for (int i = 0; VIRTUAL_THREADS && i < 24; i++) {
      workers.add(virtualThread(worker(2000 + i, 150)));
    }
    List<Thread> helpers =
        List.of(
            new Thread(this::completeConnects, "connects"),
            new Thread(this::moveTheClock, "clock"),
            new Thread(this::beTheServer, "server"));
    helpers.forEach(Thread::start);
    workers.forEach(Thread::start);
    for (Thread w : workers) {
      w.join(TimeUnit.SECONDS.toMillis(50));
      assertThat(w.isAlive()).as(w.getName() + " finished").isFalse();
    }
    stop.set(true);
    for (Thread h : helpers) {
      h.join(TimeUnit.SECONDS.toMillis(10));
    }
    assertThat(problems).isEmpty();

    // Quiesce: finish connects still in flight, let deadlines pass.
    for (FakeConnectionFactory.Attempt a; (a = connects.poll()) != null; ) {
      a.succeedHttp1();
    }
    scheduler.advance(Duration.ofMinutes(1));
    pool.checkInvariants(true);
    PoolStats s = pool.stats();
    assertThat(s.active()).isZero();
    assertThat(s.pending()).isZero();
    assertThat(s.inFlightExchanges()).isZero();
    assertThat(outcomes.get()).isEqualTo(acquires.get());
    assertThat(s.opened()).isGreaterThan(10);
    assertThat(s.reused()).isGreaterThan(10);

    CompletableFuture<Void> closed = pool.close(Duration.ZERO);
    assertThat(closed).isCompleted();
    assertThat(pool.stats().total()).isZero();
    pool.checkInvariants(true);
  }

  /** A worker: random operations, invariants checked after each. */
  private Runnable worker(long seed, int steps) {
    return () -> {
      Random rnd = new Random(seed);
      List<Lease> held = new ArrayList<>();
      try {
        for (int step = 0; step < steps; step++) {
          Origin o = ORIGINS[rnd.nextInt(ORIGINS.length)];
          int op = rnd.nextInt(10);
          if (op < 3 && !held.isEmpty()) {
            end(held.remove(rnd.nextInt(held.size())), rnd);
          } else if (op < 5) {
            Lease l = pool.tryAcquire(o);
            if (l != null) {
              acquires.incrementAndGet();
              outcomes.incrementAndGet();
              use(l, held);
            }
          } else {
            acquires.incrementAndGet();
            long timeout = TimeUnit.MILLISECONDS.toNanos(20 + rnd.nextInt(400));
            CompletableFuture<Lease> f = pool.acquire(o, timeout, "seed" + seed + "/" + step);
            if (rnd.nextInt(6) == 0) {
              f.cancel(false);
            }
            Lease l = outcome(f);
            if (l != null) {
              use(l, held);
            }
          }
          if (held.size() > 2) {
            end(held.remove(0), rnd);
          }
          pool.checkInvariants(false);
        }
        for (Lease l : held) {
          end(l, rnd);
        }
        pool.checkInvariants(false);
      } catch (Throwable t) {
        problems.add(new AssertionError("worker seed " + seed + " failed", t));
        for (Lease l : held) {
          ((FakeConnection) l.connection()).users.decrementAndGet();
          l.release();
        }
      }
    };
  }

  /** The future's one outcome: a lease, or one of the failures the pool may report. */
  private @Nullable Lease outcome(CompletableFuture<Lease> f) {
    try {
      Lease l = f.join();
      outcomes.incrementAndGet();
      return l;
    } catch (CancellationException e) {
      outcomes.incrementAndGet();
      return null;
    } catch (CompletionException e) {
      outcomes.incrementAndGet();
      Throwable c = e.getCause();
      if (!(c instanceof PoolTimeoutException
          || c instanceof PoolFullException
          || c instanceof ConnectFailedException
          || c instanceof PoolClosedException)) {
        throw new AssertionError("unexpected failure", c);
      }
      return null;
    }
  }

  private static void use(Lease l, List<Lease> held) {
    FakeConnection c = (FakeConnection) l.connection();
    int users = c.users.incrementAndGet();
    int max = c.multiplexed ? MAX_STREAMS_EVER : 1;
    if (users > max) {
      throw new AssertionError(c + " has " + users + " users at once");
    }
    held.add(l);
  }

  private static void end(Lease l, Random rnd) {
    ((FakeConnection) l.connection()).users.decrementAndGet();
    if (rnd.nextInt(8) == 0) {
      l.discard();
    } else {
      l.release();
    }
  }

  private void completeConnects() {
    Random rnd = new Random(7);
    while (!stop.get()) {
      FakeConnectionFactory.Attempt a = connects.poll();
      if (a == null) {
        Thread.onSpinWait();
        continue;
      }
      int dice = rnd.nextInt(10);
      FakeConnection c;
      if (dice == 0) {
        a.fail();
        continue;
      } else if (a.origin.equals(ORIGINS[0]) || (a.origin.equals(ORIGINS[2]) && dice < 5)) {
        c = a.succeedHttp1();
      } else {
        c = a.succeedHttp2(1 + rnd.nextInt(3));
      }
      live.add(c);
    }
  }

  private void moveTheClock() {
    Random rnd = new Random(11);
    try {
      while (!stop.get()) {
        scheduler.advance(Duration.ofMillis(1 + rnd.nextInt(20)));
        pool.checkInvariants(false);
        Thread.onSpinWait();
      }
    } catch (Throwable t) {
      problems.add(t);
    }
  }

  private void beTheServer() {
    Random rnd = new Random(13);
    try {
      while (!stop.get()) {
        FakeConnection c;
        synchronized (live) {
          if (live.isEmpty()) {
            Thread.onSpinWait();
            continue;
          }
          c = live.get(rnd.nextInt(live.size()));
        }
        switch (rnd.nextInt(40)) {
          case 0 -> c.goAway();
          case 1 -> c.serverClose();
          case 2 -> {
            if (c.multiplexed) {
              c.settings(1 + rnd.nextInt(MAX_STREAMS_EVER));
            }
          }
          case 3 -> c.dieSilently();
          default -> Thread.onSpinWait();
        }
        if (c.isClosed()) {
          live.remove(c);
        }
      }
    } catch (Throwable t) {
      problems.add(t);
    }
  }

  /**
   * Close against acquire: threads acquire and release while the pool is closed under them. Every
   * call ends with a lease or a PoolClosedException, every lease given out can be released, and the
   * close completes with no connection left.
   */
  @Test
  void closeAgainstAcquireFromManyThreadsEndsEveryCallOneWay() throws Exception {
    factory.autoComplete = false;
    ConnectionPool p =
        ConnectionPool.builder(factory)
            .limits(Limits.builder().maxConnections(3).build())
            .scheduler(scheduler)
            .build();
    int threads = 8;
    CountDownLatch started = new CountDownLatch(threads);
    AtomicInteger leases = new AtomicInteger();
    AtomicInteger refused = new AtomicInteger();
    List<Thread> ts = new ArrayList<>();
    for (int i = 0; i < threads; i++) {
      Thread t =
          new Thread(
              () -> {
                started.countDown();
                for (int n = 0; n < 100_000; n++) {
                  try {
                    Lease l = p.acquire(ORIGINS[n % 2], Long.MAX_VALUE, null).join();
                    leases.incrementAndGet();
                    l.release();
                  } catch (CompletionException e) {
                    if (!(e.getCause() instanceof PoolClosedException)) {
                      problems.add(e);
                    }
                    refused.incrementAndGet();
                    return;
                  } catch (Throwable e) {
                    problems.add(e);
                    return;
                  }
                }
              });
      t.start();
      ts.add(t);
    }
    started.await();
    while (leases.get() < 1000) {
      Thread.onSpinWait();
    }
    CompletableFuture<Void> closed = p.close(Duration.ofMinutes(1));
    for (Thread t : ts) {
      t.join(TimeUnit.SECONDS.toMillis(30));
      assertThat(t.isAlive()).isFalse();
    }
    assertThat(problems).isEmpty();
    assertThat(refused.get()).isEqualTo(threads);
    assertThat(closed).isCompleted();
    assertThat(p.stats().total()).isZero();
    p.checkInvariants(true);
  }

  static final boolean VIRTUAL_THREADS = Runtime.version().feature() >= 21;

  /** An unstarted virtual thread (JDK 21+; the tests compile for 17, hence reflection). */
  static Thread virtualThread(Runnable task) {
    try {
      Object builder = Thread.class.getMethod("ofVirtual").invoke(null);
      Method unstarted =
          Class.forName("java.lang.Thread$Builder").getMethod("unstarted", Runnable.class);
      return (Thread) unstarted.invoke(builder, task);
    } catch (ReflectiveOperationException e) {
      throw new LinkageError("no virtual threads", e);
    }
  }

  /**
   * Virtual threads blocked in the pool do not pin their carriers: far more of them than carriers
   * wait at once for one connection, and all get it in turn. Runs on JDK 21+ (skipped on 17).
   */
  @Test
  void manyVirtualThreadsWaitingDoNotPinTheirCarriers() throws Exception {
    org.junit.jupiter.api.Assumptions.assumeTrue(VIRTUAL_THREADS, "no virtual threads on JDK 17");
    factory.autoComplete = false;
    ConnectionPool one =
        ConnectionPool.builder(factory)
            .limits(Limits.builder().maxConnections(1).build())
            .scheduler(scheduler)
            .build();
    int n = 200;
    CountDownLatch done = new CountDownLatch(n);
    AtomicInteger served = new AtomicInteger();
    Lease first = one.acquire(ORIGINS[0], Long.MAX_VALUE, null).join();
    List<Thread> threads = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      Thread t =
          virtualThread(
              () -> {
                Lease l = one.acquire(ORIGINS[0], Long.MAX_VALUE, null).join();
                served.incrementAndGet();
                l.release();
                done.countDown();
              });
      t.start();
      threads.add(t);
    }
    // All 200 must be parked in join() at once, which needs them off their carriers.
    for (int i = 0; i < 10_000 && one.stats().pending() < n; i++) {
      Thread.onSpinWait();
    }
    assertThat(one.stats().pending()).isEqualTo(n);
    first.release();
    assertThat(done.await(30, TimeUnit.SECONDS)).isTrue();
    assertThat(served.get()).isEqualTo(n);
    one.checkInvariants(true);
    for (Thread t : threads) {
      t.join();
    }
  }
}
