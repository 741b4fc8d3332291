package dev.llmpool.pool;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.llmpool.ConnectFailedException;
import dev.llmpool.Limits;
import dev.llmpool.Origin;
import dev.llmpool.PoolClosedException;
import dev.llmpool.PoolFullException;
import dev.llmpool.PoolStats;
import dev.llmpool.PoolStats.CloseReason;
import dev.llmpool.PoolTimeoutException;
import dev.llmpool.time.ManualScheduler;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

/**
 * The pool's behaviour, item by item of its specification, on fake connections and a manual clock:
 * nothing sleeps. Every test ends by checking the pool's invariants.
 */
class ConnectionPoolTest {
  static final Origin A = Origin.of("https://a.example");
  static final Origin B = Origin.of("https://b.example");
  static final long WAIT = Duration.ofSeconds(30).toNanos();

  final ManualScheduler scheduler = new ManualScheduler();
  final FakeConnectionFactory factory = new FakeConnectionFactory();
  final RecordingObserver observer = new RecordingObserver();
  ConnectionPool pool = pool(Limits.DEFAULTS);

  final java.util.List<String> lockViolations =
      java.util.Collections.synchronizedList(new java.util.ArrayList<>());

  ConnectionPool pool(Limits limits) {
    ConnectionPool p =
        ConnectionPool.builder(factory)
            .limits(limits)
            .scheduler(scheduler)
            .observer(observer)
            .build();
    observer.pool = p;
    return p;
  }

  ConnectionPool pool(Limits.Builder limits) {
    pool = pool(limits.build());
    return pool;
  }

  CompletableFuture<Lease> acquire(Origin o) {
    CompletableFuture<Lease> f = pool.acquire(o, WAIT, null);
    ConnectionPool p = pool;
    var unused =
        f.whenComplete(
            (l, e) -> {
              if (p.lock.isHeldByCurrentThread()) {
                lockViolations.add("future completed under the pool's lock");
              }
            });
    return f;
  }

  /** Acquires, completing the connect the acquire starts (if any) with HTTP/1.1. */
  Lease acquireHttp1(Origin o) {
    int before = factory.count();
    CompletableFuture<Lease> f = acquire(o);
    if (!f.isDone() && factory.count() > before) {
      factory.attempt(before).succeedHttp1();
    }
    assertThat(f).isDone();
    return f.join();
  }

  static FakeConnection fake(Lease l) {
    return (FakeConnection) l.connection();
  }

  static Throwable failure(CompletableFuture<?> f) {
    assertThat(f).isCompletedExceptionally();
    try {
      f.join();
    } catch (CompletionException e) {
      return e.getCause();
    } catch (CancellationException e) {
      return e;
    }
    throw new AssertionError("not failed");
  }

  PoolStats statsOf(Origin o) {
    PoolStats s = pool.stats().forOrigin(o);
    assertThat(s).isNotNull();
    return s;
  }

  @AfterEach
  void invariantsHold() {
    pool.checkInvariants(true);
    assertThat(lockViolations).isEmpty();
  }

  @Nested
  class Reuse {
    @Test
    void idleHttp1ConnectionIsReusedMostRecentlyUsedFirst() {
      CompletableFuture<Lease> f1 = acquire(A);
      CompletableFuture<Lease> f2 = acquire(A);
      assertThat(factory.count()).isEqualTo(2);
      factory.attempt(0).succeedHttp1();
      factory.attempt(1).succeedHttp1();
      Lease l1 = f1.join();
      Lease l2 = f2.join();
      assertThat(l1.connection()).isNotSameAs(l2.connection());
      assertThat(l1.reused()).isFalse();

      l1.release();
      scheduler.advance(Duration.ofSeconds(1));
      l2.release();

      Lease l3 = pool.tryAcquire(A);
      assertThat(l3).isNotNull();
      assertThat(l3.connection()).isSameAs(l2.connection());
      assertThat(l3.reused()).isTrue();
      assertThat(l3.waitedNanos()).isZero();
      assertThat(factory.count()).isEqualTo(2);
      l3.release();
      assertThat(pool.stats().reused()).isEqualTo(1);
    }

    @Test
    void tryAcquireNeverOpensNorWaits() {
      assertThat(pool.tryAcquire(A)).isNull();
      acquireHttp1(A); // now the only connection is busy
      assertThat(pool.tryAcquire(A)).isNull();
      assertThat(factory.count()).isEqualTo(1);
      assertThat(pool.stats().pending()).isZero();
    }

    @Test
    void aSecondEndOfALeaseIsIgnored() {
      Lease l = acquireHttp1(A);
      FakeConnection c = fake(l);
      l.release();
      l.discard();
      l.release();
      assertThat(c.isClosed()).isFalse();
      assertThat(statsOf(A).idle()).isEqualTo(1);
      Lease again = pool.tryAcquire(A);
      assertThat(again).isNotNull();
      again.release();
    }

    @Test
    void discardedHttp1ConnectionIsClosedAtOnce() {
      Lease l = acquireHttp1(A);
      l.discard();
      assertThat(fake(l).isClosed()).isTrue();
      assertThat(pool.stats().closed(CloseReason.DISCARDED)).isEqualTo(1);
      assertThat(pool.stats().total()).isZero();
    }

    @Test
    void reusePathReturnsTheSameLeaseObjectOnceWarm() {
      Lease l = acquireHttp1(A);
      l.release();
      Lease a = pool.tryAcquire(A);
      assertThat(a).isNotNull();
      a.release();
      Lease b = pool.tryAcquire(A);
      assertThat(b).isSameAs(a);
      b.release();
    }
  }

  @Nested
  class LimitsAndWaiting {
    @Test
    void neverHoldsMoreConnectionsThanTheLimitCountingConnectingOnes() {
      pool(Limits.builder().maxConnections(2));
      CompletableFuture<Lease> f1 = acquire(A);
      CompletableFuture<Lease> f2 = acquire(B);
      CompletableFuture<Lease> f3 = acquire(A);
      assertThat(factory.count()).isEqualTo(2); // two connecting: the third call waits
      assertThat(pool.stats().connecting()).isEqualTo(2);
      assertThat(pool.stats().pending()).isEqualTo(3);
      assertThat(pool.stats().utilization()).isEqualTo(1.0);
      factory.attempt(0).succeedHttp1();
      factory.attempt(1).succeedHttp1();
      assertThat(f1).isDone();
      assertThat(f2).isDone();
      assertThat(f3).isNotDone();
      f1.join().release();
      assertThat(f3).isDone();
      f3.join().release();
      f2.join().release();
    }

    @Test
    void perHostLimitBindsEachOriginSeparately() {
      pool(Limits.builder().maxConnections(10).maxConnectionsPerHost(1));
      var unused = acquire(A);
      CompletableFuture<Lease> a2 = acquire(A);
      var unused2 = acquire(B);
      assertThat(factory.attempts()).extracting(a -> a.origin).containsExactly(A, B);
      assertThat(a2).isNotDone();
    }

    @Test
    void waitersAreServedFirstComeFirstServed() {
      pool(Limits.builder().maxConnections(1));
      Lease l1 = acquireHttp1(A);
      CompletableFuture<Lease> f2 = acquire(A);
      scheduler.advance(Duration.ofMillis(10));
      CompletableFuture<Lease> f3 = acquire(A);
      CompletableFuture<Lease> f4 = acquire(A);
      assertThat(pool.tryAcquire(A)).isNull();

      l1.release();
      assertThat(f2).isDone();
      assertThat(f3).isNotDone();
      Lease l2 = f2.join();
      assertThat(l2.connection()).isSameAs(l1.connection());
      assertThat(l2.waitedNanos()).isEqualTo(Duration.ofMillis(10).toNanos());
      l2.release();
      assertThat(f3).isDone();
      assertThat(f4).isNotDone();
      f3.join().release();
      f4.join().release();
      assertThat(factory.count()).isEqualTo(1);
      assertThat(observer.events()).contains("waited 10ms");
    }

    @Test
    void aFreedGlobalSlotGoesToTheOldestWaiterOfAnyHost() {
      pool(Limits.builder().maxConnections(2));
      Lease a1 = acquireHttp1(A);
      Lease a2 = acquireHttp1(A);
      CompletableFuture<Lease> b = acquire(B); // older than the next call for A
      CompletableFuture<Lease> a3 = acquire(A);
      assertThat(factory.count()).isEqualTo(2);

      a1.release(); // A's call could reuse it, but B's call is older: B gets the slot
      assertThat(fake(a1).isClosed()).isTrue();
      assertThat(pool.stats().closed(CloseReason.EVICTED_LRU)).isEqualTo(1);
      assertThat(factory.count()).isEqualTo(3);
      assertThat(factory.attempt(2).origin).isEqualTo(B);
      assertThat(a3).isNotDone();

      factory.attempt(2).succeedHttp1();
      assertThat(b).isDone();
      a2.release();
      assertThat(a3).isDone();
      assertThat(a3.join().connection()).isSameAs(a2.connection());
      a3.join().release();
      b.join().release();
    }

    @Test
    void atTheTotalLimitAnIdleConnectionOfAnotherHostIsClosedToMakeRoom() {
      pool(Limits.builder().maxConnections(1));
      acquireHttp1(A).release();
      CompletableFuture<Lease> b = acquire(B);
      assertThat(factory.count()).isEqualTo(2);
      assertThat(factory.attempt(0).connection).satisfies(c -> assertThat(c.isClosed()).isTrue());
      factory.attempt(1).succeedHttp1();
      assertThat(b).isDone();
      b.join().release();
    }

    @Test
    void aReleaseAtTheTotalLimitServesTheWaiterOfAnotherHost() {
      // maxIdleConnections defaults to maxConnections: the release may take the lock-free path,
      // which must not keep the connection from another host's waiter.
      pool(Limits.builder().maxConnections(1));
      Lease a = acquireHttp1(A);
      CompletableFuture<Lease> b = acquire(B);
      assertThat(b).isNotDone();
      assertThat(factory.count()).isEqualTo(1);
      a.release();
      assertThat(factory.count()).isEqualTo(2);
      assertThat(factory.attempt(0).connection).satisfies(c -> assertThat(c.isClosed()).isTrue());
      factory.attempt(1).succeedHttp1();
      assertThat(b).isDone();
      b.join().release();
    }

    @Test
    void waiterTimesOutWithPoolTimeoutExceptionNamingOriginCountsAndLimit() {
      pool(Limits.builder().maxConnectionsPerHost(1));
      Lease l = acquireHttp1(A);
      CompletableFuture<Lease> f = pool.acquire(A, Duration.ofSeconds(5).toNanos(), null);
      scheduler.advance(Duration.ofMillis(4999));
      assertThat(f).isNotDone();
      scheduler.advance(Duration.ofMillis(1));
      Throwable t = failure(f);
      assertThat(t)
          .isInstanceOf(PoolTimeoutException.class)
          .hasMessageContaining("origin=https://a.example:443")
          .hasMessageContaining("within 5.0 s")
          .hasMessageContaining("active=1, idle=0, connecting=0, pending=1")
          .hasMessageContaining("limits.maxConnectionsPerHost=1")
          .hasMessageContaining("phase=pool");
      assertThat(((PoolTimeoutException) t).limit()).isEqualTo(Duration.ofSeconds(5));
      assertThat(((PoolTimeoutException) t).requestMayHaveBeenProcessed()).isFalse();
      assertThat(pool.stats().acquireTimeouts()).isEqualTo(1);
      assertThat(pool.stats().pending()).isZero();
      assertThat(observer.events()).contains("timed out 5000ms");

      l.release(); // nobody waits any more: the connection goes idle
      assertThat(statsOf(A).idle()).isEqualTo(1);
    }

    @Test
    void timeoutMessageNamesTheTotalLimitWhenThatBinds() {
      pool(Limits.builder().maxConnections(1));
      Lease l = acquireHttp1(A);
      CompletableFuture<Lease> f = pool.acquire(B, Duration.ofSeconds(1).toNanos(), null);
      scheduler.advance(Duration.ofSeconds(1));
      assertThat(failure(f)).hasMessageContaining("limits.maxConnections=1");
      l.release();
    }

    @Test
    void callsBeyondMaxPendingAcquiresFailAtOnceWithPoolFullException() {
      pool(Limits.builder().maxConnections(1).maxPendingAcquires(2));
      Lease l = acquireHttp1(A);
      CompletableFuture<Lease> w1 = acquire(A);
      CompletableFuture<Lease> w2 = acquire(A);
      CompletableFuture<Lease> w3 = acquire(A);
      assertThat(w1).isNotDone();
      assertThat(w2).isNotDone();
      assertThat(failure(w3))
          .isInstanceOf(PoolFullException.class)
          .hasMessageContaining("2 calls are already waiting")
          .hasMessageContaining("limits.maxPendingAcquires=2");
      assertThat(pool.stats().rejected()).isEqualTo(1);
      assertThat(pool.stats().pending()).isEqualTo(2);
      assertThat(observer.events()).contains("rejected");
      l.release();
      w1.join().release();
      w2.join().release();
    }

    @Test
    void aCallThatCanOpenItsOwnConnectionIsNeverRefused() {
      pool(Limits.builder().maxConnections(2).maxPendingAcquires(0));
      CompletableFuture<Lease> f1 = acquire(A);
      CompletableFuture<Lease> f2 = acquire(A);
      CompletableFuture<Lease> f3 = acquire(A);
      assertThat(f1).isNotDone();
      assertThat(f2).isNotDone();
      assertThat(failure(f3)).isInstanceOf(PoolFullException.class);
      factory.attempt(0).succeedHttp1();
      factory.attempt(1).succeedHttp1();
      f1.join().release();
      f2.join().release();
    }

    @Test
    void cancellingAWaitingAcquireRemovesItExactlyOnce() {
      pool(Limits.builder().maxConnections(1));
      Lease l = acquireHttp1(A);
      CompletableFuture<Lease> f = acquire(A);
      CompletableFuture<Lease> g = acquire(A);
      assertThat(pool.stats().pending()).isEqualTo(2);
      assertThat(f.cancel(true)).isTrue();
      assertThat(pool.stats().pending()).isEqualTo(1);
      f.cancel(true); // a second cancel changes nothing in the pool
      assertThat(pool.stats().pending()).isEqualTo(1);
      l.release();
      assertThat(g).isDone(); // the next waiter, not the cancelled one
      g.join().release();
      assertThat(statsOf(A).idle()).isEqualTo(1);
    }

    @Test
    void completingTheFutureFromOutsideAlsoLeavesTheQueue() {
      pool(Limits.builder().maxConnections(1));
      Lease l = acquireHttp1(A);
      CompletableFuture<Lease> f = acquire(A);
      f.completeExceptionally(new IllegalStateException("caller gave up"));
      assertThat(pool.stats().pending()).isZero();
      l.release();
      assertThat(statsOf(A).idle()).isEqualTo(1);
    }

    @Test
    void aDependentStageDoesNotLeakTheWaiterWhenCancelled() {
      pool(Limits.builder().maxConnections(1));
      Lease l = acquireHttp1(A);
      CompletableFuture<Lease> f = acquire(A);
      CompletableFuture<Lease> dependent = f.thenApply(x -> x);
      dependent.cancel(true); // does not reach the pool's future ...
      l.release(); // ... so the waiter is served; its caller must cancel the future it got
      assertThat(f).isDone();
      f.join().release();
    }
  }

  /** Races named in the specification, each made deterministic. */
  @Nested
  class Races {
    @Test
    void cancelAgainstServeTheLeaseGoesBackToThePool() {
      factory.expectMultiplexing = true;
      CompletableFuture<Lease> w1 = acquire(A);
      CompletableFuture<Lease> w2 = acquire(A);
      // Both are served in one step; delivering w1's lease runs this, cancelling w2 after the pool
      // chose it and before its lease reaches it.
      var unused = w1.thenRun(() -> w2.cancel(false));
      factory.attempt(0).succeedHttp2(10);
      assertThat(w1).isDone();
      assertThat(w2).isCancelled();
      assertThat(pool.stats().inFlightExchanges()).isEqualTo(1);
      w1.join().release();
      assertThat(pool.stats().inFlightExchanges()).isZero();
      assertThat(statsOf(A).idle()).isEqualTo(1);
    }

    @Test
    void timeoutAgainstServeWhenTheDeadlineComesFirstTheConnectionIsNotHeld() {
      pool(Limits.builder().maxConnections(1));
      Lease l = acquireHttp1(A);
      CompletableFuture<Lease> f = pool.acquire(A, Duration.ofSeconds(10).toNanos(), null);
      scheduler.schedule(l::release, Duration.ofSeconds(10)); // same instant, after the deadline
      scheduler.advance(Duration.ofSeconds(10));
      assertThat(failure(f)).isInstanceOf(PoolTimeoutException.class);
      assertThat(statsOf(A).idle()).isEqualTo(1);
      assertThat(statsOf(A).active()).isZero();
    }

    @Test
    void timeoutAgainstServeWhenTheReleaseComesFirstTheCallIsServedAndNeverTimesOut() {
      pool(Limits.builder().maxConnections(1));
      Lease l = acquireHttp1(A);
      scheduler.schedule(l::release, Duration.ofSeconds(10)); // same instant, before the deadline
      CompletableFuture<Lease> f = pool.acquire(A, Duration.ofSeconds(10).toNanos(), null);
      scheduler.advance(Duration.ofSeconds(10));
      assertThat(f).isCompletedWithValueMatching(x -> x.connection() == l.connection());
      scheduler.advance(Duration.ofSeconds(60));
      assertThat(pool.stats().acquireTimeouts()).isZero();
      f.join().release();
    }

    @Test
    void timeoutAgainstServeTheLeaseOfACallThatTimedOutOnItsOwnGoesBack() {
      pool(Limits.builder().maxConnections(1));
      Lease l = acquireHttp1(A);
      CompletableFuture<Lease> f = acquire(A);
      f.completeOnTimeout(null, 0, java.util.concurrent.TimeUnit.NANOSECONDS);
      // completeOnTimeout completes through complete(): the waiter left the queue first.
      assertThat(f.join()).isNull();
      l.release();
      assertThat(statsOf(A).idle()).isEqualTo(1);
    }

    @Test
    void connectFailureIsReportedToTheCallThatCausedItNotToTheNextWaiter() {
      pool(Limits.builder().maxConnectionsPerHost(1));
      CompletableFuture<Lease> f1 = pool.acquire(A, WAIT, "call-1");
      CompletableFuture<Lease> f2 = pool.acquire(A, WAIT, "call-2");
      assertThat(factory.count()).isEqualTo(1);
      assertThat(factory.attempt(0).cause).isEqualTo("call-1");

      ConnectFailedException e = factory.attempt(0).fail();
      assertThat(failure(f1)).isSameAs(e);
      assertThat(f2).isNotDone();
      assertThat(factory.count()).isEqualTo(2); // the freed slot lets the next call try
      assertThat(factory.attempt(1).cause).isEqualTo("call-2");
      factory.attempt(1).succeedHttp1();
      f2.join().release();
      assertThat(pool.stats().connectFailures()).isEqualTo(1);
      assertThat(observer.events()).contains("connect failed");
    }

    @Test
    void connectFailureAfterItsCallWasServedElsewhereFailsNobody() {
      pool(Limits.builder().maxConnectionsPerHost(2));
      Lease busy = acquireHttp1(A);
      CompletableFuture<Lease> f = acquire(A); // opens a second connection for itself
      assertThat(factory.count()).isEqualTo(2);
      busy.release(); // ... but the first one frees up first and serves it
      assertThat(f).isDone();
      factory.attempt(1).fail();
      assertThat(f.isCompletedExceptionally()).isFalse();
      assertThat(factory.count()).isEqualTo(2);
      f.join().release();
    }

    @Test
    void aPoolTimeoutAfterAFailedConnectCarriesThatFailureAsItsCause() {
      pool(Limits.builder().maxConnectionsPerHost(1));
      CompletableFuture<Lease> f1 = acquire(A);
      CompletableFuture<Lease> f2 = pool.acquire(A, Duration.ofSeconds(5).toNanos(), null);
      ConnectFailedException e = factory.attempt(0).fail();
      assertThat(failure(f1)).isSameAs(e);
      scheduler.advance(Duration.ofSeconds(5)); // the second connect hangs past the pool timeout
      assertThat(failure(f2))
          .isInstanceOf(PoolTimeoutException.class)
          .hasMessageContaining("still being opened")
          .hasCause(e);
      factory.attempt(1).succeedHttp1();
      assertThat(statsOf(A).idle()).isEqualTo(1);
    }

    @Test
    void closeAgainstAcquireAWaitingCallFailsWithPoolClosedException() {
      pool(Limits.builder().maxConnections(1));
      Lease l = acquireHttp1(A);
      CompletableFuture<Lease> waiting = acquire(A);
      CompletableFuture<Void> closed = pool.close(Duration.ofSeconds(10));
      assertThat(failure(waiting))
          .isInstanceOf(PoolClosedException.class)
          .hasMessageContaining("closed while the call waited");
      assertThat(failure(acquire(A))).isInstanceOf(PoolClosedException.class);
      assertThat(pool.tryAcquire(A)).isNull();
      assertThat(closed).isNotDone();
      l.release();
      assertThat(fake(l).isClosed()).isTrue();
      assertThat(closed).isDone();
    }

    @Test
    void closeAgainstAConnectInProgressCancelsItAndClosesWhatArrivesLate() {
      CompletableFuture<Lease> f = acquire(A);
      CompletableFuture<Lease> g = acquire(B);
      CompletableFuture<Void> closed = pool.close(Duration.ZERO);
      assertThat(failure(f)).isInstanceOf(PoolClosedException.class);
      assertThat(failure(g)).isInstanceOf(PoolClosedException.class);
      assertThat(factory.attempt(0).isCancelled()).isTrue();
      assertThat(closed).isDone();
      assertThat(pool.stats().total()).isZero();
    }

    @Test
    void aConnectThatSucceedsDespiteTheCancelIsClosedAtOnce() {
      FakeConnectionFactory stubborn =
          new FakeConnectionFactory() {
            @Override
            public CompletableFuture<Connection> open(
                Origin origin, ConnectionListener listener, Object cause) {
              CompletableFuture<Connection> f = super.open(origin, listener, cause);
              // A future that is past the point of cancelling: cancel() loses the race.
              CompletableFuture<Connection> late =
                  new CompletableFuture<>() {
                    @Override
                    public boolean cancel(boolean mayInterrupt) {
                      return false;
                    }
                  };
              var unused =
                  f.whenComplete(
                      (c, e) -> {
                        if (e != null) {
                          late.completeExceptionally(e);
                        } else {
                          late.complete(c);
                        }
                      });
              return late;
            }
          };
      pool =
          ConnectionPool.builder(stubborn)
              .limits(Limits.DEFAULTS)
              .scheduler(scheduler)
              .observer(observer)
              .build();
      var unused = acquire(A);
      var closing = pool.close(Duration.ZERO);
      FakeConnection c = stubborn.attempt(0).succeedHttp1();
      assertThat(c.isClosed()).isTrue();
      assertThat(pool.stats().closed(CloseReason.POOL_CLOSED)).isEqualTo(1);
      assertThat(pool.stats().total()).isZero();
      assertThat(closing).isCompleted();
    }
  }

  @Nested
  class Http2 {
    @Test
    void oneConnectionCarriesCallsUpToItsStreamLimitThenAnotherIsOpened() {
      factory.expectMultiplexing = true;
      CompletableFuture<Lease> f1 = acquire(A);
      CompletableFuture<Lease> f2 = acquire(A);
      CompletableFuture<Lease> f3 = acquire(A);
      assertThat(factory.count()).isEqualTo(1); // they wait for the first connection
      FakeConnection c1 = factory.attempt(0).succeedHttp2(2);
      assertThat(f1.join().connection()).isSameAs(c1);
      assertThat(f2.join().connection()).isSameAs(c1);
      assertThat(f2.join().reused()).isTrue();
      assertThat(f3).isNotDone();
      assertThat(factory.count()).isEqualTo(2);
      FakeConnection c2 = factory.attempt(1).succeedHttp2(2);
      assertThat(f3.join().connection()).isSameAs(c2);
      assertThat(statsOf(A).inFlightExchanges()).isEqualTo(3);
      assertThat(statsOf(A).active()).isEqualTo(2);
      f1.join().release();
      f2.join().release();
      f3.join().release();
      assertThat(statsOf(A).idle()).isEqualTo(2);
    }

    @Test
    void aConnectionStillLearningItsStreamLimitServesItsCallerAndHoldsBackNewConnects() {
      factory.expectMultiplexing = true;
      CompletableFuture<Lease> f1 = acquire(A);
      CompletableFuture<Lease> f2 = acquire(A);
      CompletableFuture<Lease> f3 = acquire(A);
      FakeConnection c1 = factory.attempt(0).succeedHttp2BeforeSettings();
      assertThat(f1.join().connection()).isSameAs(c1); // the caller goes at once
      assertThat(f2).isNotDone();
      assertThat(factory.count()).isEqualTo(1); // no connect while the limit is unknown
      c1.firstSettings(100);
      assertThat(f2.join().connection()).isSameAs(c1);
      assertThat(f3.join().connection()).isSameAs(c1);
      assertThat(factory.count()).isEqualTo(1);
      f1.join().release();
      f2.join().release();
      f3.join().release();
    }

    @Test
    void aLearntLimitTooSmallForTheWaitersOpensTheNextConnection() {
      factory.expectMultiplexing = true;
      CompletableFuture<Lease> f1 = acquire(A);
      CompletableFuture<Lease> f2 = acquire(A);
      CompletableFuture<Lease> f3 = acquire(A);
      FakeConnection c1 = factory.attempt(0).succeedHttp2BeforeSettings();
      assertThat(factory.count()).isEqualTo(1);
      c1.firstSettings(2); // f2 fits; f3 needs another connection now
      assertThat(f2.join().connection()).isSameAs(c1);
      assertThat(f3).isNotDone();
      assertThat(factory.count()).isEqualTo(2);
      FakeConnection c2 = factory.attempt(1).succeedHttp2(2);
      assertThat(f3.join().connection()).isSameAs(c2);
      f1.join().release();
      f2.join().release();
      f3.join().release();
    }

    @Test
    void aConnectionThatDiesBeforeItsSettingsDoesNotStrandTheWaiters() {
      factory.expectMultiplexing = true;
      CompletableFuture<Lease> f1 = acquire(A);
      CompletableFuture<Lease> f2 = acquire(A);
      FakeConnection c1 = factory.attempt(0).succeedHttp2BeforeSettings();
      assertThat(f1.join().connection()).isSameAs(c1);
      assertThat(factory.count()).isEqualTo(1);
      c1.serverClose();
      assertThat(factory.count()).isEqualTo(2); // the waiter gets a connect of its own
      FakeConnection c2 = factory.attempt(1).succeedHttp2(10);
      assertThat(f2.join().connection()).isSameAs(c2);
      f1.join().release();
      f2.join().release();
    }

    @Test
    void afterTheFirstHttp2ConnectionTheOriginIsKnownToMultiplex() {
      CompletableFuture<Lease> f1 = acquire(A); // factory does not expect h2 ...
      factory.attempt(0).succeedHttp2(2); // ... but it is, with 2 streams per connection
      CompletableFuture<Lease> f2 = acquire(A); // the second stream of the first connection
      CompletableFuture<Lease> f3 = acquire(A);
      CompletableFuture<Lease> f4 = acquire(A);
      assertThat(f2).isDone();
      assertThat(factory.count()).isEqualTo(2); // one new connection for both f3 and f4
      factory.attempt(1).succeedHttp2(2);
      assertThat(f3).isDone();
      assertThat(f4).isDone();
      for (CompletableFuture<Lease> f : List.of(f1, f2, f3, f4)) {
        f.join().release();
      }
    }

    @Test
    void aBurstOpensTheConnectionsItNeedsAtTheLearntStreamLimitAtOnce() {
      pool(Limits.builder().maxConnections(10));
      CompletableFuture<Lease> first = acquire(A);
      factory.attempt(0).succeedHttp2(4);
      List<CompletableFuture<Lease>> burst = new ArrayList<>();
      for (int i = 0; i < 13; i++) {
        burst.add(acquire(A));
      }
      // 3 ride the first connection; the other 10 need ceil(10 / 4) = 3 more, opened together
      // rather than one handshake after another.
      assertThat(factory.count()).isEqualTo(4);
      for (int i = 1; i < 4; i++) {
        factory.attempt(i).succeedHttp2(4);
      }
      assertThat(burst).allMatch(CompletableFuture::isDone);
      assertThat(statsOf(A).active()).isEqualTo(4);
      first.join().release();
      burst.forEach(f -> f.join().release());
    }

    @Test
    void aBurstStillStopsAtTheHostLimit() {
      pool(Limits.builder().maxConnections(10).maxConnectionsPerHost(2));
      CompletableFuture<Lease> first = acquire(A);
      factory.attempt(0).succeedHttp2(1);
      List<CompletableFuture<Lease>> burst = new ArrayList<>();
      for (int i = 0; i < 5; i++) {
        burst.add(acquire(A));
      }
      assertThat(factory.count()).isEqualTo(2);
      factory.attempt(1).succeedHttp2(1);
      assertThat(burst.stream().filter(CompletableFuture::isDone).count()).isEqualTo(1);
      first.join().release();
      assertThat(burst.stream().filter(CompletableFuture::isDone).count()).isEqualTo(2);
      for (CompletableFuture<Lease> f : burst) {
        f.join().release(); // each release serves the next waiter on a freed stream
      }
      assertThat(factory.count()).isEqualTo(2);
    }

    @Test
    void atTheLimitAHttp2CallWaitsForAStreamSlotAndNeverFails() {
      pool(Limits.builder().maxConnections(1));
      factory.expectMultiplexing = true;
      CompletableFuture<Lease> f1 = acquire(A);
      factory.attempt(0).succeedHttp2(1);
      CompletableFuture<Lease> f2 = acquire(A);
      assertThat(f2).isNotDone();
      f1.join().release();
      assertThat(f2.join().connection()).isSameAs(f1.join().connection());
      f2.join().release();
    }

    @Test
    void whenTheFirstConnectionTurnsOutHttp1TheOtherCallsOpenTheirOwn() {
      factory.expectMultiplexing = true;
      CompletableFuture<Lease> f1 = acquire(A);
      CompletableFuture<Lease> f2 = acquire(A);
      CompletableFuture<Lease> f3 = acquire(A);
      factory.attempt(0).succeedHttp1();
      assertThat(f1).isDone();
      assertThat(factory.count()).isEqualTo(3);
      factory.attempt(1).succeedHttp1();
      factory.attempt(2).succeedHttp1();
      f1.join().release();
      f2.join().release();
      f3.join().release();
    }

    @Test
    void goawayConnectionTakesNoNewStreamFinishesItsStreamsThenCloses() {
      factory.expectMultiplexing = true;
      CompletableFuture<Lease> f1 = acquire(A);
      CompletableFuture<Lease> f2 = acquire(A);
      FakeConnection c = factory.attempt(0).succeedHttp2(10);
      c.goAway();
      assertThat(pool.tryAcquire(A)).isNull();
      assertThat(statsOf(A).draining()).isEqualTo(1);
      CompletableFuture<Lease> f3 = acquire(A);
      assertThat(factory.count()).isEqualTo(2);
      f1.join().release();
      assertThat(c.isClosed()).isFalse();
      f2.join().release();
      assertThat(c.isClosed()).isTrue();
      assertThat(pool.stats().closed(CloseReason.GOAWAY)).isEqualTo(1);
      factory.attempt(1).succeedHttp2(10);
      f3.join().release();
    }

    @Test
    void aLoweredStreamLimitIsObeyedAtOnce() {
      factory.expectMultiplexing = true;
      CompletableFuture<Lease> f1 = acquire(A);
      FakeConnection c = factory.attempt(0).succeedHttp2(3);
      Lease l2 = pool.tryAcquire(A);
      assertThat(l2).isNotNull();
      c.settings(1);
      assertThat(pool.tryAcquire(A)).isNull();
      l2.release();
      assertThat(pool.tryAcquire(A)).isNull(); // still one in flight: at the new limit
      f1.join().release();
      Lease l3 = pool.tryAcquire(A);
      assertThat(l3).isNotNull();
      l3.release();
    }

    @Test
    void aRaisedStreamLimitServesWaitingCalls() {
      pool(Limits.builder().maxConnections(1));
      factory.expectMultiplexing = true;
      CompletableFuture<Lease> f1 = acquire(A);
      FakeConnection c = factory.attempt(0).succeedHttp2(1);
      CompletableFuture<Lease> f2 = acquire(A);
      assertThat(f2).isNotDone();
      c.settings(2);
      assertThat(f2).isDone();
      f1.join().release();
      f2.join().release();
    }

    @Test
    void theLeastLoadedConnectionWithAFreeSlotIsChosen() {
      pool(Limits.builder().maxConnections(2));
      factory.expectMultiplexing = true;
      CompletableFuture<Lease> f1 = acquire(A);
      FakeConnection c1 = factory.attempt(0).succeedHttp2(2);
      Lease l2 = pool.tryAcquire(A);
      CompletableFuture<Lease> f3 = acquire(A); // c1 is full: a second connection opens
      FakeConnection c2 = factory.attempt(1).succeedHttp2(2);
      assertThat(f3.join().connection()).isSameAs(c2);
      f1.join().release(); // c1 carries 1, c2 carries 1
      Lease l4 = pool.tryAcquire(A);
      assertThat(l4).isNotNull();
      Lease l5 = pool.tryAcquire(A);
      assertThat(l5).isNotNull();
      assertThat(l5.connection()).isNotSameAs(l4.connection()); // spread, not stacked
      assertThat(c1.isClosed() || c2.isClosed()).isFalse();
      l2.release();
      f3.join().release();
      l4.release();
      l5.release();
    }

    @Test
    void aDiscardedStreamDrainsTheConnectionAndClosesItOnceTheOthersEnd() {
      factory.expectMultiplexing = true;
      CompletableFuture<Lease> f1 = acquire(A);
      CompletableFuture<Lease> f2 = acquire(A);
      FakeConnection c = factory.attempt(0).succeedHttp2(10);
      f1.join().discard();
      assertThat(c.isClosed()).isFalse();
      assertThat(pool.tryAcquire(A)).isNull();
      f2.join().release();
      assertThat(c.isClosed()).isTrue();
      assertThat(pool.stats().closed(CloseReason.DISCARDED)).isEqualTo(1);
    }
  }

  @Nested
  class Failures {
    @Test
    void aDeadIdleConnectionIsDiscardedAndAnotherTriedTransparently() {
      Lease l1 = acquireHttp1(A);
      Lease l2 = acquireHttp1(A);
      l1.release();
      l2.release(); // l2's connection is the most recently used ...
      fake(l2).dieSilently(); // ... and is dead
      Lease l3 = pool.tryAcquire(A);
      assertThat(l3).isNotNull();
      assertThat(l3.connection()).isSameAs(l1.connection());
      assertThat(fake(l2).isClosed()).isTrue();
      assertThat(pool.stats().closed(CloseReason.SERVER_CLOSED)).isEqualTo(1);
      l3.release();
    }

    @Test
    void aConnectionClosedByTheServerLeavesThePoolAndFreesItsSlot() {
      pool(Limits.builder().maxConnections(1));
      Lease l = acquireHttp1(A);
      CompletableFuture<Lease> waiting = acquire(A);
      fake(l).serverClose();
      assertThat(factory.count()).isEqualTo(2);
      factory.attempt(1).succeedHttp1();
      assertThat(waiting).isDone();
      l.release(); // late release of a lease on the closed connection: ignored
      waiting.join().release();
      assertThat(pool.stats().closed(CloseReason.SERVER_CLOSED)).isEqualTo(1);
    }

    @Test
    void anIoErrorIsCountedAsError() {
      Lease l = acquireHttp1(A);
      fake(l).fail(new java.io.IOException("reset"));
      assertThat(pool.stats().closed(CloseReason.ERROR)).isEqualTo(1);
      l.release();
    }

    @Test
    void aFactoryThatThrowsFailsTheCallWithAConnectFailure() {
      pool =
          ConnectionPool.builder(
                  (origin, listener, cause) -> {
                    throw new IllegalStateException("boom");
                  })
              .scheduler(scheduler)
              .build();
      Throwable t = failure(acquire(A));
      assertThat(t).isInstanceOf(ConnectFailedException.class).hasRootCauseMessage("boom");
      assertThat(pool.stats().connectFailures()).isEqualTo(1);
      assertThat(pool.stats().total()).isZero();
    }
  }

  @Nested
  class Maintenance {
    @Test
    void idleConnectionExpiresAfterKeepAliveWithoutAnyAcquire() {
      pool(Limits.builder().keepAliveExpiry(Duration.ofSeconds(30)));
      Lease l = acquireHttp1(A);
      l.release();
      scheduler.advance(Duration.ofMillis(29_999));
      assertThat(fake(l).isClosed()).isFalse();
      scheduler.advance(Duration.ofMillis(1));
      assertThat(fake(l).isClosed()).isTrue();
      assertThat(pool.stats().closed(CloseReason.IDLE_EXPIRED)).isEqualTo(1);
      assertThat(observer.events()).contains("closed idle-expired");
      assertThat(scheduler.pendingTasks()).isZero(); // nothing left to look after
    }

    @Test
    void reuseRestartsTheKeepAliveClock() {
      pool(Limits.builder().keepAliveExpiry(Duration.ofSeconds(30)));
      Lease l = acquireHttp1(A);
      l.release();
      scheduler.advance(Duration.ofSeconds(20));
      Lease again = pool.tryAcquire(A);
      assertThat(again).isNotNull();
      again.release();
      scheduler.advance(Duration.ofSeconds(20));
      assertThat(fake(l).isClosed()).isFalse();
      scheduler.advance(Duration.ofSeconds(10));
      assertThat(fake(l).isClosed()).isTrue();
    }

    @Test
    void theServersKeepAliveTimeoutShortensIdleExpiryWithAMargin() {
      Lease l = acquireHttp1(A);
      fake(l).serverIdleTimeoutNanos = Duration.ofSeconds(5).toNanos();
      l.release();
      scheduler.advance(Duration.ofMillis(3999));
      assertThat(fake(l).isClosed()).isFalse();
      scheduler.advance(Duration.ofMillis(1));
      assertThat(fake(l).isClosed()).isTrue();
    }

    @Test
    void anIdleConnectionPastItsLifetimeIsClosed() {
      pool(
          Limits.builder()
              .keepAliveExpiry(Duration.ofSeconds(50))
              .maxConnectionLifetime(Duration.ofSeconds(60)));
      Lease l = acquireHttp1(A);
      scheduler.advance(Duration.ofSeconds(30));
      l.release();
      scheduler.advance(Duration.ofSeconds(30));
      assertThat(fake(l).isClosed()).isTrue();
      assertThat(pool.stats().closed(CloseReason.LIFETIME)).isEqualTo(1);
    }

    @Test
    void anHttp1ConnectionReleasedPastItsLifetimeIsClosedNotKept() {
      pool(Limits.builder().maxConnectionLifetime(Duration.ofSeconds(60)));
      Lease l = acquireHttp1(A);
      scheduler.advance(Duration.ofSeconds(61));
      assertThat(fake(l).isClosed()).isFalse(); // busy: the exchange is not cut
      l.release();
      assertThat(fake(l).isClosed()).isTrue();
      assertThat(pool.stats().closed(CloseReason.LIFETIME)).isEqualTo(1);
    }

    @Test
    void anHttp2ConnectionPastItsLifetimeTakesNoNewStreamAndClosesOnceDrained() {
      pool(Limits.builder().maxConnectionLifetime(Duration.ofSeconds(60)));
      factory.expectMultiplexing = true;
      CompletableFuture<Lease> f = acquire(A);
      FakeConnection c = factory.attempt(0).succeedHttp2(10);
      scheduler.advance(Duration.ofSeconds(60));
      assertThat(statsOf(A).draining()).isEqualTo(1);
      assertThat(pool.tryAcquire(A)).isNull();
      CompletableFuture<Lease> g = acquire(A);
      assertThat(factory.count()).isEqualTo(2);
      f.join().release();
      assertThat(c.isClosed()).isTrue();
      assertThat(pool.stats().closed(CloseReason.LIFETIME)).isEqualTo(1);
      factory.attempt(1).succeedHttp2(10);
      g.join().release();
    }

    @Test
    void idleConnectionsBeyondMaxIdleAreClosedLeastRecentlyUsedFirst() {
      pool(Limits.builder().maxIdleConnections(1));
      Lease l1 = acquireHttp1(A);
      Lease l2 = acquireHttp1(B);
      l1.release();
      scheduler.advance(Duration.ofSeconds(1));
      l2.release();
      assertThat(fake(l1).isClosed()).isTrue();
      assertThat(fake(l2).isClosed()).isFalse();
      assertThat(pool.stats().closed(CloseReason.EVICTED_LRU)).isEqualTo(1);
      assertThat(pool.stats().idle()).isEqualTo(1);
    }

    @Test
    void withMaxIdleZeroEveryConnectionClosesWhenItsExchangeEnds() {
      pool(Limits.builder().maxIdleConnections(0));
      Lease l = acquireHttp1(A);
      l.release();
      assertThat(fake(l).isClosed()).isTrue();
    }

    @Test
    void withMaxIdleZeroAWaitingCallStillGetsTheReleasedConnection() {
      pool(Limits.builder().maxConnections(1).maxIdleConnections(0));
      Lease l = acquireHttp1(A);
      CompletableFuture<Lease> f = acquire(A);
      l.release();
      assertThat(f.join().connection()).isSameAs(l.connection());
      f.join().release();
    }

    @Test
    void prewarmOpensConnectionsUpToTheCountAndTheLimits() {
      pool(Limits.builder().maxConnections(10).maxConnectionsPerHost(3));
      CompletableFuture<Void> warm = pool.prewarm(A, 5);
      assertThat(factory.count()).isEqualTo(3);
      assertThat(factory.attempts()).allMatch(a -> a.cause == null);
      assertThat(warm).isNotDone();
      factory.attempts().forEach(FakeConnectionFactory.Attempt::succeedHttp1);
      assertThat(warm).isCompleted();
      assertThat(statsOf(A).idle()).isEqualTo(3);
      assertThat(pool.prewarm(A, 2)).isCompleted(); // already there: opens nothing
      assertThat(factory.count()).isEqualTo(3);
      Lease l = pool.tryAcquire(A);
      assertThat(l).isNotNull();
      assertThat(l.reused()).isFalse();
      l.release();
    }

    @Test
    void prewarmReportsAFailedConnect() {
      CompletableFuture<Void> warm = pool.prewarm(A, 2);
      factory.attempt(0).succeedHttp1();
      ConnectFailedException e = factory.attempt(1).fail();
      assertThat(failure(warm)).isSameAs(e);
      assertThat(statsOf(A).idle()).isEqualTo(1);
    }

    @Test
    void closeClosesIdleConnectionsAtOnceAndActiveOnesWhenReleased() {
      Lease busy = acquireHttp1(A);
      Lease idle = acquireHttp1(A);
      idle.release();
      CompletableFuture<Void> closed = pool.close(Duration.ofSeconds(30));
      assertThat(fake(idle).isClosed()).isTrue();
      assertThat(fake(busy).isClosed()).isFalse();
      assertThat(closed).isNotDone();
      busy.release();
      assertThat(fake(busy).isClosed()).isTrue();
      assertThat(closed).isCompleted();
      assertThat(pool.stats().closed(CloseReason.POOL_CLOSED)).isEqualTo(2);
      assertThat(scheduler.pendingTasks()).isZero();
      assertThat(failure(pool.prewarm(A, 1))).isInstanceOf(PoolClosedException.class);
    }

    @Test
    void closeClosesActiveConnectionsAfterTheGracePeriod() {
      Lease busy = acquireHttp1(A);
      CompletableFuture<Void> closed = pool.close(Duration.ofSeconds(30));
      scheduler.advance(Duration.ofSeconds(29));
      assertThat(fake(busy).isClosed()).isFalse();
      scheduler.advance(Duration.ofSeconds(1));
      assertThat(fake(busy).isClosed()).isTrue();
      assertThat(closed).isCompleted();
      busy.release(); // too late: ignored
      assertThat(pool.stats().total()).isZero();
      assertThat(scheduler.pendingTasks()).isZero();
    }

    @Test
    void closeAgainWithZeroGraceStopsWaitingForExchanges() {
      Lease busy = acquireHttp1(A);
      CompletableFuture<Void> first = pool.close(Duration.ofMinutes(5));
      CompletableFuture<Void> second = pool.close(Duration.ZERO);
      assertThat(second).isSameAs(first).isCompleted();
      assertThat(fake(busy).isClosed()).isTrue();
      assertThat(pool.isClosed()).isTrue();
    }
  }

  @Nested
  class Stats {
    @Test
    void countsByStateAgreeWithEachOtherAndWithTheOrigins() {
      factory.expectMultiplexing = false;
      Lease a1 = acquireHttp1(A);
      acquireHttp1(A).release();
      CompletableFuture<Lease> b = acquire(B); // connecting
      PoolStats s = pool.stats();
      assertThat(s.connecting()).isEqualTo(1);
      assertThat(s.idle()).isEqualTo(1);
      assertThat(s.active()).isEqualTo(1);
      assertThat(s.open()).isEqualTo(2);
      assertThat(s.total()).isEqualTo(3);
      assertThat(s.pending()).isEqualTo(1);
      assertThat(s.inFlightExchanges()).isEqualTo(1);
      assertThat(s.opened() - s.closed()).isEqualTo(s.open());
      assertThat(s.byOrigin()).containsOnlyKeys(A, B);
      assertThat(s.byOrigin().values().stream().mapToInt(PoolStats::total).sum()).isEqualTo(3);
      assertThat(s.utilization()).isEqualTo(0.01);
      assertThat(s.toString())
          .doesNotContain("\n")
          .contains("connections=3/100 (connecting=1, idle=1, active=1)")
          .contains("pending=1")
          .contains("origins=[https://a.example:443, https://b.example:443]");
      factory.next().succeedHttp1();
      b.join().release();
      a1.release();
    }

    @Test
    void countersCountOpenedClosedReusedTimeoutsAndRejected() {
      pool(Limits.builder().maxConnections(1).maxPendingAcquires(1));
      Lease l = acquireHttp1(A);
      l.release();
      l = pool.tryAcquire(A);
      assertThat(l).isNotNull();
      CompletableFuture<Lease> timesOut = pool.acquire(A, 1, null);
      CompletableFuture<Lease> rejected = acquire(A);
      scheduler.advance(Duration.ofMillis(1));
      assertThat(failure(timesOut)).isInstanceOf(PoolTimeoutException.class);
      assertThat(failure(rejected)).isInstanceOf(PoolFullException.class);
      l.discard();
      PoolStats s = pool.stats();
      assertThat(s.opened()).isEqualTo(1);
      assertThat(s.closed()).isEqualTo(1);
      assertThat(s.closedByReason())
          .containsExactly(java.util.Map.entry(CloseReason.DISCARDED, 1L));
      assertThat(s.reused()).isEqualTo(1);
      assertThat(s.acquireTimeouts()).isEqualTo(1);
      assertThat(s.rejected()).isEqualTo(1);
      assertThat(s.peakActive()).isEqualTo(1);
      assertThat(s.peakPending()).isEqualTo(1);
      assertThat(s.peakOpen()).isEqualTo(1);
    }

    @Test
    void peaksRememberTheHighestLoadSinceStart() {
      Lease[] leases = new Lease[4];
      for (int i = 0; i < leases.length; i++) {
        leases[i] = acquireHttp1(A);
      }
      for (Lease l : leases) {
        l.release();
      }
      PoolStats s = pool.stats();
      assertThat(s.active()).isZero();
      assertThat(s.peakActive()).isEqualTo(4);
      assertThat(s.peakOpen()).isEqualTo(4);
      assertThat(statsOf(A).peakActive()).isEqualTo(4);
    }

    @Test
    void observerHearsOpenedClosedAndWaited() {
      pool(Limits.builder().maxConnections(1));
      Lease l = acquireHttp1(A);
      CompletableFuture<Lease> f = acquire(A);
      scheduler.advance(Duration.ofMillis(3));
      l.release();
      f.join().discard();
      // The first call waited (0 ms on this clock) for the connection opened for it.
      assertThat(observer.events())
          .containsExactly("opened h1", "waited 0ms", "waited 3ms", "closed discarded");
    }
  }

  @Test
  void anOriginNeverSeenHasNoStatsAndTryAcquireReturnsNull() {
    assertThat(pool.tryAcquire(Origin.of("http://unknown:8080"))).isNull();
    assertThat(pool.stats().forOrigin(Origin.of("http://unknown:8080"))).isNull();
  }

  @Test
  void prewarmRefusesANegativeCount() {
    assertThatThrownBy(() -> pool.prewarm(A, -1)).isInstanceOf(IllegalArgumentException.class);
  }
}
