package dev.llmpool.pool;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llmpool.Limits;
import dev.llmpool.Origin;
import dev.llmpool.PoolStats.CloseReason;
import dev.llmpool.time.ManualScheduler;
import java.lang.ref.WeakReference;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Leases whose holder is garbage-collected without ending them are reclaimed and reported once.
 * These tests ask for garbage collection and wait for it with a bound; they never sleep.
 */
class ConnectionPoolLeakTest {
  static final Origin A = Origin.of("https://a.example");

  final ManualScheduler scheduler = new ManualScheduler();
  final FakeConnectionFactory factory = new FakeConnectionFactory();
  final RecordingObserver observer = new RecordingObserver();

  ConnectionPool pool(boolean tracking) {
    factory.autoComplete = false;
    return ConnectionPool.builder(factory)
        .limits(Limits.builder().maxConnections(1).build())
        .scheduler(scheduler)
        .observer(observer)
        .leakTracking(tracking)
        .build();
  }

  ConnectionPool pool;

  @AfterEach
  void invariantsHold() {
    pool.checkInvariants(true);
  }

  /** Ties the lease to an object nobody else refers to, and returns a way to see it collected. */
  private static WeakReference<Object> trackGarbageOwner(Lease lease) {
    Object owner = new Object();
    lease.trackOwner(owner);
    return new WeakReference<>(owner);
  }

  /** Collects garbage until {@code ref} is cleared, then lets maintenance run. */
  private void collect(WeakReference<Object> ref) {
    for (int i = 0; i < 200 && ref.get() != null; i++) {
      System.gc();
    }
    assertThat(ref.get()).as("owner collected").isNull();
    for (int i = 0; i < 200 && !observer.events().contains("leak"); i++) {
      System.gc(); // the reference is enqueued by the collector's reference handler thread
      scheduler.advance(Duration.ofSeconds(5));
    }
  }

  @Test
  void aLeakedLeaseIsReclaimedAndReportedOnceWithTheStackOfItsAcquisition() {
    pool = pool(true);
    Lease lease = pool.acquire(A, Long.MAX_VALUE, null).join();
    FakeConnection c = (FakeConnection) lease.connection();
    WeakReference<Object> owner = trackGarbageOwner(lease);
    lease = null;
    CompletableFuture<Lease> waiting = pool.acquire(A, Long.MAX_VALUE, null);
    assertThat(waiting).isNotDone();

    collect(owner);

    assertThat(observer.events()).containsOnlyOnce("leak");
    assertThat(c.isClosed()).isTrue(); // its state is unknown: closed, not reused
    assertThat(pool.stats().closed(CloseReason.LEAKED)).isEqualTo(1);
    Throwable stack = observer.lastLeakStack;
    assertThat(stack).isNotNull();
    assertThat(stack.getStackTrace())
        .anyMatch(e -> e.getMethodName().startsWith("aLeakedLeaseIsReclaimed"));
    // The waiting call proceeds on a new connection.
    assertThat(factory.count()).isEqualTo(2);
    assertThat(waiting).isDone();
    scheduler.advance(Duration.ofMinutes(1));
    assertThat(observer.events()).containsOnlyOnce("leak");
    waiting.join().release();
  }

  @Test
  void withoutTrackingALeakIsStillReclaimedButWithoutAStack() {
    pool = pool(false);
    Lease lease = pool.acquire(A, Long.MAX_VALUE, null).join();
    WeakReference<Object> owner = trackGarbageOwner(lease);
    lease = null;
    collect(owner);
    assertThat(observer.events()).containsOnlyOnce("leak");
    assertThat(observer.lastLeakStack).isNull();
    assertThat(pool.stats().active()).isZero();
  }

  @Test
  void aReleasedLeaseIsNeverReportedAsLeakedEvenAfterItsOwnerIsCollected() {
    pool = pool(true);
    Lease lease = pool.acquire(A, Long.MAX_VALUE, null).join();
    WeakReference<Object> owner = trackGarbageOwner(lease);
    lease.release();
    Lease again = pool.tryAcquire(A); // the same lease object, recycled for a new holder
    assertThat(again).isNotNull();
    for (int i = 0; i < 200 && owner.get() != null; i++) {
      System.gc();
    }
    for (int i = 0; i < 20; i++) {
      System.gc();
      scheduler.advance(Duration.ofSeconds(5));
    }
    assertThat(observer.events()).doesNotContain("leak");
    assertThat(pool.stats().active()).isEqualTo(1);
    again.release();
  }
}
