package dev.llmpool.bench;

import com.sun.management.ThreadMXBean;
import dev.llmpool.EventListener;
import dev.llmpool.LlmPool;
import dev.llmpool.http.HttpRequest;
import dev.llmpool.http.HttpResponse;
import dev.llmpool.micrometer.LlmPoolMetrics;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.lang.management.ManagementFactory;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
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
 * What the event listener costs per call on a reused connection: one small chat-completion POST
 * through {@code LlmPool.send} against the in-process {@link BenchHttpServer}, with no listener
 * ({@code NONE}), a listener that does nothing ({@code NOOP}), one that counts every event ({@code
 * COUNTING}, proving the events fire: it prints events per call), and llmpool-micrometer's {@code
 * LlmPoolMetrics} on a {@code SimpleMeterRegistry} ({@code MICROMETER}: what full metrics cost).
 *
 * <p>Run with {@code -prof gc}: {@code gc.alloc.rate.norm} counts every thread (the server's too),
 * but the server does the same work in every variant, so the difference between two variants is
 * what the listener costs the client. Each iteration also prints the bytes allocated per call by
 * the client's threads alone (caller and llmpool's I/O threads, from {@link ThreadMXBean}).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 5, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(
    value = 1,
    jvmArgsAppend = {"-Xms512m", "-Xmx512m"})
@Threads(1)
public class EventListenerBenchmark {

  @Param({"HTTP_1_1", "H2C"})
  public String protocol;

  @Param({"NONE", "NOOP", "COUNTING", "MICROMETER"})
  public String listener;

  private BenchHttpServer server;
  private LlmPool pool;
  private HttpRequest request;
  private final LongAdder events = new LongAdder();
  private final AtomicLong calls = new AtomicLong();
  private final ThreadMXBean threads = (ThreadMXBean) ManagementFactory.getThreadMXBean();
  private Map<Long, Long> before = new HashMap<>();
  private long callsBefore;
  private long eventsBefore;

  @Setup(Level.Trial)
  public void setUp() throws Exception {
    threads.setThreadAllocatedMemoryEnabled(true);
    server = new BenchHttpServer();
    boolean h2 = protocol.equals("H2C");
    int port = h2 ? server.h2cPort() : server.http1Port();
    LlmPool.Builder b =
        LlmPool.builder()
            .baseUrl("http://127.0.0.1:" + port + "/v1")
            .bearerToken("sk-bench")
            .ioThreads(1);
    switch (listener) {
      case "NONE" -> {}
      case "NOOP" -> b.eventListener(new EventListener() {});
      case "COUNTING" -> b.eventListener(new Counting(events));
      case "MICROMETER" -> b.metrics(new LlmPoolMetrics(new SimpleMeterRegistry()));
      default -> throw new IllegalArgumentException(listener);
    }
    pool = (h2 ? b.h2cPriorKnowledge("127.0.0.1") : b.http2(false)).build();
    request =
        HttpRequest.post("/chat/completions")
            .json(
                "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":\"Hello!\"}],"
                    + "\"max_tokens\":64}")
            .build();
    pool.send(request); // open the connection: every measured call reuses it
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    pool.close();
    server.close();
  }

  @Setup(Level.Iteration)
  public void startIteration() {
    before = allocated();
    callsBefore = calls.get();
    eventsBefore = events.sum();
  }

  @TearDown(Level.Iteration)
  public void endIteration() {
    Map<Long, Long> after = allocated();
    long alloc = 0;
    for (Map.Entry<Long, Long> e : after.entrySet()) {
      alloc += e.getValue() - before.getOrDefault(e.getKey(), 0L);
    }
    long n = Math.max(1, calls.get() - callsBefore);
    System.out.printf(
        Locale.ROOT,
        "%n  [%s %s] client threads: %d bytes allocated per call, %.1f events per call (%d"
            + " calls)%n",
        protocol,
        listener,
        alloc / n,
        (events.sum() - eventsBefore) / (double) n,
        n);
  }

  /** Allocated bytes of the client's threads (caller and llmpool I/O), by thread id. */
  private Map<Long, Long> allocated() {
    Map<Long, Long> m = new HashMap<>();
    for (Thread t : Thread.getAllStackTraces().keySet()) {
      String name = t.getName();
      if (name.startsWith("llmpool-") || name.contains("jmh-worker")) {
        m.put(t.getId(), threads.getThreadAllocatedBytes(t.getId()));
      }
    }
    return m;
  }

  @Benchmark
  public HttpResponse send() {
    calls.incrementAndGet();
    return pool.send(request);
  }

  /** Counts every event of a reused-connection call. */
  static final class Counting implements EventListener {
    private final LongAdder n;

    Counting(LongAdder n) {
      this.n = n;
    }

    @Override
    public void callStart(CallInfo call) {
      n.increment();
    }

    @Override
    public void connectionAcquired(
        CallInfo call, ConnectionInfo connection, boolean reused, long waitedNanos) {
      n.increment();
    }

    @Override
    public void connectionReleased(CallInfo call, ConnectionInfo connection) {
      n.increment();
    }

    @Override
    public void requestHeadersEnd(CallInfo call) {
      n.increment();
    }

    @Override
    public void requestBodyEnd(CallInfo call, long bytes) {
      n.increment();
    }

    @Override
    public void responseHeadersEnd(CallInfo call, int status) {
      n.increment();
    }

    @Override
    public void responseBodyEnd(CallInfo call, long bytes) {
      n.increment();
    }

    @Override
    public void callEnd(CallInfo call) {
      n.increment();
    }
  }
}
