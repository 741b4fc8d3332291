package dev.llmpool.bench;

import dev.llmpool.Limits;
import dev.llmpool.Origin;
import dev.llmpool.pool.ConnectionPool;
import dev.llmpool.pool.Lease;
import dev.llmpool.time.Ticker;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The pool's reuse path, uncontended: one thread takes a free connection (or HTTP/2 stream slot)
 * with {@link ConnectionPool#tryAcquire} and gives it back. Goal: at most 150 ns per pair and no
 * allocation ({@code -prof gc}: {@code gc.alloc.rate.norm} about 0 B/op).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class PoolBenchmark {
  static final Origin ORIGIN = Origin.of("https://api.example.com");

  /** One idle HTTP/1.1 connection. */
  @State(Scope.Thread)
  public static class Http1 {
    ConnectionPool pool;
    long endNanos;

    @Setup(Level.Iteration)
    public void now() {
      endNanos = Ticker.system().nanoTime();
    }

    @Setup(Level.Trial)
    public void setUp() {
      pool =
          ConnectionPool.builder(BenchConnection.factory(false, 1)).limits(Limits.DEFAULTS).build();
      pool.acquire(ORIGIN, Long.MAX_VALUE, null).join().release();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
      pool.close();
    }
  }

  /**
   * One HTTP/2 connection (100 streams) already carrying one stream, as under load: taking and
   * giving back a slot does not make it idle.
   */
  @State(Scope.Thread)
  public static class Http2 {
    ConnectionPool pool;
    Lease background;

    @Setup(Level.Trial)
    public void setUp() {
      pool =
          ConnectionPool.builder(BenchConnection.factory(true, 100))
              .limits(Limits.DEFAULTS)
              .build();
      background = pool.acquire(ORIGIN, Long.MAX_VALUE, null).join();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
      background.release();
      pool.close();
    }
  }

  /** One idle HTTP/2 connection: each slot taken makes it active, each given back idle again. */
  @State(Scope.Thread)
  public static class Http2Idle {
    ConnectionPool pool;

    @Setup(Level.Trial)
    public void setUp() {
      pool =
          ConnectionPool.builder(BenchConnection.factory(true, 100))
              .limits(Limits.DEFAULTS)
              .build();
      pool.acquire(ORIGIN, Long.MAX_VALUE, null).join().release();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
      pool.close();
    }
  }

  /** The baseline of {@link PoolContentionBenchmark}, one idle connection, one thread. */
  @State(Scope.Thread)
  public static class Baseline {
    PoolContentionBenchmark.SemaphorePool pool;

    @Setup(Level.Trial)
    public void setUp() {
      pool = new PoolContentionBenchmark.SemaphorePool(1, false);
    }
  }

  /** Semaphore + synchronized ArrayDeque: acquire + release, for comparison. */
  @Benchmark
  public BenchConnection baselineAcquireRelease(Baseline s) throws InterruptedException {
    BenchConnection c = s.pool.acquire();
    s.pool.release(c);
    return c;
  }

  /** Acquire + release of an idle HTTP/1.1 connection; the pool reads the clock on release. */
  @Benchmark
  public Lease http1AcquireRelease(Http1 s) {
    Lease l = s.pool.tryAcquire(ORIGIN);
    l.release();
    return l;
  }

  /**
   * The same as llmpool's HTTP layer does it: the release passes the end time the transport already
   * read (refreshed every iteration, far within the keep-alive).
   */
  @Benchmark
  public Lease http1AcquireReleaseWithEndTime(Http1 s) {
    Lease l = s.pool.tryAcquire(ORIGIN);
    l.release(s.endNanos);
    return l;
  }

  /** Acquire + release of a stream slot on a busy HTTP/2 connection. */
  @Benchmark
  public Lease http2SlotAcquireRelease(Http2 s) {
    Lease l = s.pool.tryAcquire(ORIGIN);
    l.release();
    return l;
  }

  /** Acquire + release of a stream slot on an otherwise idle HTTP/2 connection. */
  @Benchmark
  public Lease http2IdleSlotAcquireRelease(Http2Idle s) {
    Lease l = s.pool.tryAcquire(ORIGIN);
    l.release();
    return l;
  }
}
