package dev.llmpool.bench;

import dev.llmpool.time.Ticker;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The floor under every pool operation: one read of the injected {@link Ticker}. The pool reads the
 * ticker on acquire and on release, so this bounds how cheap those can be.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class TickerBenchmark {
  private final Ticker ticker = Ticker.system();

  /** One monotonic read through the interface. */
  @Benchmark
  public long systemTickerNanoTime() {
    return ticker.nanoTime();
  }
}
