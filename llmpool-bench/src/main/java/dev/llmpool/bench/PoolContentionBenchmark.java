package dev.llmpool.bench;

import dev.llmpool.Limits;
import dev.llmpool.Origin;
import dev.llmpool.pool.ConnectionPool;
import dev.llmpool.pool.Lease;
import dev.llmpool.time.Ticker;
import java.util.ArrayDeque;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * 64 threads taking and giving back HTTP/1.1 connections to one origin, as fast as they can:
 * llmpool against the plainest correct pool, a {@link Semaphore} plus a synchronized {@link
 * ArrayDeque}. With {@code connections=64} no thread ever waits (the cost is the pool's own
 * synchronisation); with fewer, threads queue for connections.
 *
 * <p>The baseline's semaphore is unfair: a thread that gives a connection back may take it again at
 * once, ahead of threads that waited longer, which is cheap but lets a caller starve. llmpool
 * serves waiters in order (its specification), which costs a thread hand-off per connection when
 * threads queue; the fair-semaphore baseline shows what that order costs any pool.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
@Threads(64)
public class PoolContentionBenchmark {
  static final Origin ORIGIN = Origin.of("https://api.example.com");
  static final long POOL_TIMEOUT = TimeUnit.SECONDS.toNanos(60);

  /** llmpool with {@code connections} idle HTTP/1.1 connections. */
  @State(Scope.Benchmark)
  public static class Llmpool {
    @Param({"64", "8"})
    int connections;

    ConnectionPool pool;

    @Setup(Level.Trial)
    public void setUp() {
      pool =
          ConnectionPool.builder(BenchConnection.factory(false, 1))
              .limits(Limits.builder().maxConnections(connections).build())
              .build();
      pool.prewarm(ORIGIN, connections).join();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
      pool.close();
    }
  }

  /** The baseline: a Semaphore (unfair, or fair) and a synchronized ArrayDeque. */
  public static class SemaphorePool {
    final Semaphore permits;
    final ArrayDeque<BenchConnection> idle = new ArrayDeque<>();

    SemaphorePool(int connections, boolean fair) {
      permits = new Semaphore(connections, fair);
      for (int i = 0; i < connections; i++) {
        idle.addFirst(new BenchConnection(ORIGIN, false, 1));
      }
    }

    BenchConnection acquire() throws InterruptedException {
      permits.acquire();
      synchronized (idle) {
        return idle.pollFirst();
      }
    }

    void release(BenchConnection c) {
      synchronized (idle) {
        idle.addFirst(c);
      }
      permits.release();
    }
  }

  /** The baseline with an unfair semaphore. */
  @State(Scope.Benchmark)
  public static class Baseline {
    @Param({"64", "8"})
    int connections;

    SemaphorePool pool;

    @Setup(Level.Trial)
    public void setUp() {
      pool = new SemaphorePool(connections, false);
    }
  }

  /** The baseline with a fair (FIFO) semaphore. */
  @State(Scope.Benchmark)
  public static class FairBaseline {
    @Param({"64", "8"})
    int connections;

    SemaphorePool pool;

    @Setup(Level.Trial)
    public void setUp() {
      pool = new SemaphorePool(connections, true);
    }
  }

  /**
   * The time a caller already holds when its exchange ends (llmpool's transport reads the clock
   * there for its own bookkeeping and passes it on), per thread; refreshed every iteration, far
   * within the keep-alive.
   */
  @State(Scope.Thread)
  public static class EndTime {
    long nanos;

    @Setup(Level.Iteration)
    public void setUp() {
      nanos = Ticker.system().nanoTime();
    }
  }

  /**
   * llmpool as its HTTP layer uses it: the fast path, else wait for a connection (as a blocking
   * caller does); the release passes the end time the transport read.
   */
  @Benchmark
  public Lease llmpool(Llmpool s, EndTime t) {
    Lease l = s.pool.tryAcquire(ORIGIN);
    if (l == null) {
      l = s.pool.acquire(ORIGIN, POOL_TIMEOUT, null).join();
    }
    l.release(t.nanos);
    return l;
  }

  /** The same, with the pool reading the clock itself on release ({@code release()}). */
  @Benchmark
  public Lease llmpoolReadingTheClock(Llmpool s) {
    Lease l = s.pool.tryAcquire(ORIGIN);
    if (l == null) {
      l = s.pool.acquire(ORIGIN, POOL_TIMEOUT, null).join();
    }
    l.release();
    return l;
  }

  /** Semaphore + synchronized ArrayDeque, unfair. */
  @Benchmark
  public BenchConnection semaphoreBaseline(Baseline s) throws InterruptedException {
    BenchConnection c = s.pool.acquire();
    s.pool.release(c);
    return c;
  }

  /** Semaphore + synchronized ArrayDeque, fair. */
  @Benchmark
  public BenchConnection fairSemaphoreBaseline(FairBaseline s) throws InterruptedException {
    BenchConnection c = s.pool.acquire();
    s.pool.release(c);
    return c;
  }
}
