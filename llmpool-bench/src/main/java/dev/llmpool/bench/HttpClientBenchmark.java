package dev.llmpool.bench;

import com.sun.management.ThreadMXBean;
import dev.llmpool.LlmPool;
import dev.llmpool.http.HttpRequest;
import dev.llmpool.http.HttpResponse;
import java.lang.management.ManagementFactory;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
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
 * The client's own cost per request: one small chat-completion POST and its whole JSON answer,
 * through {@code LlmPool.send}, against an in-process server on 127.0.0.1, over a warm connection
 * (HTTP/1.1 keep-alive, or one h2c connection).
 *
 * <p>Besides JMH's time per call (which includes the server and the loopback), each iteration
 * prints the CPU time and the bytes allocated per call by the client's threads only — the calling
 * thread and llmpool's I/O threads — read from {@link ThreadMXBean}, so the server's share is left
 * out. {@code -prof gc} would count the server's allocations too.
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
public class HttpClientBenchmark {

  @Param({"HTTP_1_1", "H2C"})
  public String protocol;

  private BenchHttpServer server;
  private LlmPool pool;
  private HttpRequest request;
  private final AtomicLong calls = new AtomicLong();
  private final ThreadMXBean threads = (ThreadMXBean) ManagementFactory.getThreadMXBean();
  private Map<Long, long[]> before = new HashMap<>();
  private long callsBefore;

  @Setup(Level.Trial)
  public void setUp() throws Exception {
    threads.setThreadAllocatedMemoryEnabled(true);
    threads.setThreadCpuTimeEnabled(true);
    server = new BenchHttpServer();
    boolean h2 = protocol.equals("H2C");
    int port = h2 ? server.h2cPort() : server.http1Port();
    LlmPool.Builder b =
        LlmPool.builder()
            .baseUrl("http://127.0.0.1:" + port + "/v1")
            .bearerToken("sk-bench")
            .ioThreads(1);
    pool = (h2 ? b.h2cPriorKnowledge("127.0.0.1") : b.http2(false)).build();
    request =
        HttpRequest.post("/chat/completions")
            .json(
                "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":\"Hello!\"}],"
                    + "\"max_tokens\":64}")
            .build();
    pool.send(request); // open the connection
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    pool.close();
    server.close();
  }

  @Setup(Level.Iteration)
  public void startIteration() {
    before = snapshot();
    callsBefore = calls.get();
  }

  @TearDown(Level.Iteration)
  public void endIteration() {
    Map<Long, long[]> after = snapshot();
    long cpu = 0;
    long alloc = 0;
    for (Map.Entry<Long, long[]> e : after.entrySet()) {
      long[] b = before.getOrDefault(e.getKey(), new long[2]);
      cpu += e.getValue()[0] - b[0];
      alloc += e.getValue()[1] - b[1];
    }
    long n = Math.max(1, calls.get() - callsBefore);
    System.out.printf(
        Locale.ROOT,
        "%n  [%s] client threads per call: %.2f us CPU, %d bytes allocated (%d calls)%n",
        protocol,
        cpu / 1000.0 / n,
        alloc / n,
        n);
  }

  /** CPU nanos and allocated bytes of the client's threads, by thread id. */
  private Map<Long, long[]> snapshot() {
    Map<Long, long[]> m = new HashMap<>();
    for (Thread t : Thread.getAllStackTraces().keySet()) {
      String name = t.getName();
      if (name.startsWith("llmpool-") || name.contains("jmh-worker")) {
        long id = t.getId();
        m.put(id, new long[] {threads.getThreadCpuTime(id), threads.getThreadAllocatedBytes(id)});
      }
    }
    return m;
  }

  @Benchmark
  public HttpResponse send() {
    calls.incrementAndGet();
    return pool.send(request);
  }
}
