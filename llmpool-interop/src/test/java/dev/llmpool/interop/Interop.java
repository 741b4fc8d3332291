package dev.llmpool.interop;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import dev.llmpool.Limits;
import dev.llmpool.LlmPool;
import dev.llmpool.LlmPoolException;
import dev.llmpool.PoolStats;
import dev.llmpool.Timeouts;
import dev.llmpool.http.HttpRequest;
import dev.llmpool.http.HttpResponse;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.util.ResourceLeakDetector;
import io.netty.util.ResourceLeakDetectorFactory;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import org.jspecify.annotations.Nullable;

/**
 * What every interop scenario shares: the pool configuration per protocol, calls that cannot hang
 * the suite, bounded waits, and the two suite-wide checks (no Netty buffer leaked, no secret in a
 * log line or an exception message).
 */
final class Interop {
  private Interop() {}

  /** The bearer token every pool sends; it must never appear in a log line or a message. */
  static final String TOKEN = "sk-interop-" + randomHex();

  /** Where servers keep their files (configs, logs, certificates). */
  static final Path WORK = Path.of("target", "interop-work").toAbsolutePath();

  /** llmpool's own log (debug level), see simplelogger.properties. */
  static final Path LOG = Path.of("target", "interop-llmpool.log").toAbsolutePath();

  /** Leaks Netty's detector reported (paranoid level: every buffer is tracked). */
  static final List<String> LEAKS = new CopyOnWriteArrayList<>();

  /** Every exception a call ended with, to check that none carries the token. */
  static final List<Throwable> ERRORS = new CopyOnWriteArrayList<>();

  /** The longest any single call may take before the suite calls it a hang. */
  static final Duration HANG = Duration.ofSeconds(45);

  private static final AtomicLong IDS = new AtomicLong();

  static {
    installLeakRecorder();
    try {
      Files.createDirectories(WORK);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static String randomHex() {
    byte[] b = new byte[12];
    new SecureRandom().nextBytes(b);
    return HexFormat.of().formatHex(b);
  }

  /** Makes sure the static set-up ran (the leak recorder must come before any buffer). */
  static void init() {}

  /** The four ways llmpool talks to a server. */
  enum Proto {
    H1(false, false),
    H1_TLS(true, false),
    H2C(false, true),
    H2(true, true);

    final boolean tls;
    final boolean http2;

    Proto(boolean tls, boolean http2) {
      this.tls = tls;
      this.http2 = http2;
    }

    String scheme() {
      return tls ? "https" : "http";
    }
  }

  /** Timeouts for the suite: generous, except what a scenario tightens. */
  static Timeouts.Builder timeouts() {
    return Timeouts.builder()
        .connect(Duration.ofSeconds(5))
        .write(Duration.ofSeconds(10))
        .read(Duration.ofSeconds(10))
        .pool(Duration.ofSeconds(10))
        .total(Duration.ofSeconds(30));
  }

  /**
   * A pool for {@code baseUrl} speaking {@code proto}: TLS trusts {@code ca}; HTTP/1.1 protocols
   * turn HTTP/2 off; h2c is prior knowledge for the base URL's host.
   */
  static LlmPool.Builder pool(Proto proto, String baseUrl, @Nullable Path ca) {
    LlmPool.Builder b =
        LlmPool.builder()
            .baseUrl(baseUrl)
            .bearerToken(TOKEN)
            .ioThreads(2)
            .timeouts(timeouts().build())
            .closeGracePeriod(Duration.ofSeconds(2));
    if (proto.tls) {
      b.trustedCertificates(java.util.Objects.requireNonNull(ca, "ca"));
    }
    if (!proto.http2) {
      b.http2(false);
    } else if (!proto.tls) {
      b.h2cPriorKnowledge(baseUrl);
    }
    return b;
  }

  static Limits perHost(int n) {
    return Limits.builder().maxConnections(Math.max(n, 16)).maxConnectionsPerHost(n).build();
  }

  /** A fresh call id, sent as {@code x-call-id} so servers can count each call's attempts. */
  static String newId() {
    return "c" + IDS.incrementAndGet();
  }

  /** How one call ended. */
  record Outcome(String id, @Nullable HttpResponse response, @Nullable LlmPoolException error) {
    boolean ok() {
      return response != null;
    }

    public HttpResponse response() {
      if (response == null) {
        throw new AssertionError("call " + id + " failed: " + error, error);
      }
      return response;
    }

    public LlmPoolException error() {
      if (error == null) {
        throw new AssertionError(
            "call " + id + " succeeded (" + response + ") where a failure was expected");
      }
      return error;
    }

    @Override
    public String toString() {
      return id + ": " + (response != null ? response.toString() : String.valueOf(error));
    }
  }

  /** Sends {@code req} with a fresh call id; returns how it ended, or fails the test on a hang. */
  static Outcome call(LlmPool pool, HttpRequest.Builder req) {
    String id = newId();
    return await(id, pool.sendAsync(req.header("x-call-id", id).build()));
  }

  /** Starts {@code req} with a fresh call id (for concurrent scenarios). */
  static Pending start(LlmPool pool, HttpRequest.Builder req) {
    String id = newId();
    return new Pending(id, pool.sendAsync(req.header("x-call-id", id).build()));
  }

  /** A call in flight. */
  record Pending(String id, CompletableFuture<HttpResponse> future) {
    Outcome await() {
      return Interop.await(id, future);
    }
  }

  static List<Outcome> awaitAll(List<Pending> calls) {
    List<Outcome> out = new ArrayList<>();
    for (Pending p : calls) {
      out.add(p.await());
    }
    return out;
  }

  static Outcome await(String id, CompletableFuture<HttpResponse> f) {
    try {
      return new Outcome(id, f.get(HANG.toSeconds(), TimeUnit.SECONDS), null);
    } catch (ExecutionException e) {
      Throwable c = e.getCause();
      ERRORS.add(c);
      if (c instanceof LlmPoolException lpe) {
        return new Outcome(id, null, lpe);
      }
      throw new AssertionError("call " + id + " failed with a non-llmpool exception: " + c, c);
    } catch (TimeoutException e) {
      f.cancel(true);
      return fail("call " + id + " hung: no outcome within " + HANG);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  /** Records an exception a scenario caught itself (streams), for the secret check. */
  static <T extends Throwable> T seen(T t) {
    ERRORS.add(t);
    return t;
  }

  /** Waits for {@code condition}, polling politely, failing after {@code bound}. */
  static void until(String what, Duration bound, BooleanSupplier condition) {
    long deadline = System.nanoTime() + bound.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() - deadline > 0) {
        fail("not within " + bound + ": " + what);
      }
      LockSupport.parkNanos(5_000_000L);
    }
  }

  /**
   * Lets {@code d} pass: only for scenarios whose subject is time itself (a server's idle timeout
   * running out), never to wait for an event.
   */
  static void letTimePass(Duration d) {
    long end = System.nanoTime() + d.toNanos();
    long left;
    while ((left = end - System.nanoTime()) > 0) {
      LockSupport.parkNanos(left);
    }
  }

  /** The pool has no connection in use and no waiting call (every lease came back). */
  static void assertQuiet(LlmPool pool) {
    until(
        "pool back to no active connection: " + pool.stats(),
        Duration.ofSeconds(10),
        () -> {
          PoolStats s = pool.stats();
          return s.active() == 0 && s.pending() == 0 && s.inFlightExchanges() == 0;
        });
  }

  /** The exception names its phase and the origin, and says whether the server may have acted. */
  static void assertNamesOrigin(LlmPoolException e, String origin) {
    assertThat(e.getMessage()).contains("phase=" + e.phase().label()).contains("origin=" + origin);
    assertThat(e.getMessage()).doesNotContain(TOKEN);
  }

  /** Heap in use after a full collection (what is still referenced). */
  static long usedHeapAfterGc() {
    for (int i = 0; i < 2; i++) {
      System.gc();
    }
    return java.lang.management.ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
  }

  /**
   * Starts {@code n} calls to {@code path} (a server that announces a 60 MB body and stalls), and
   * returns how much heap is held while they wait: a client should not reserve what a server only
   * announced.
   */
  static long heapHeldByAnnouncedBodies(LlmPool pool, NodeServer server, String path, int n) {
    long before = usedHeapAfterGc();
    List<Pending> calls = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      calls.add(start(pool, HttpRequest.get(path)));
    }
    until("the server got every call", Duration.ofSeconds(10), () -> server.requests().size() >= n);
    // The heads arrive and the calls wait for timeouts.read; measure until the heap stops growing
    // (zeroing large arrays on a loaded machine takes a while).
    long during = 0;
    for (int i = 0; i < 10; i++) {
      letTimePass(Duration.ofMillis(500));
      long now = usedHeapAfterGc();
      if (i > 1 && now <= during + (16L << 20)) {
        during = Math.max(during, now);
        break;
      }
      during = Math.max(during, now);
    }
    for (Pending p : calls) {
      p.future().cancel(true);
    }
    return during - before;
  }

  // ---- Suite-wide checks ----

  /** Collects garbage and lets Netty's detector report what was dropped unreleased. */
  static List<String> collectLeaks() {
    for (int round = 0; round < 3; round++) {
      System.gc();
      letTimePass(Duration.ofMillis(50));
      for (int i = 0; i < 200; i++) {
        // Each tracked allocation polls the detector's queue of collected, unreleased buffers.
        ByteBuf b = PooledByteBufAllocator.DEFAULT.directBuffer(16);
        b.release();
        ByteBuf h = PooledByteBufAllocator.DEFAULT.heapBuffer(16);
        h.release();
      }
    }
    return List.copyOf(LEAKS);
  }

  /** Lines of llmpool's log that contain the token (there must be none). */
  static List<String> logLinesWithToken() throws IOException {
    if (!Files.exists(LOG)) {
      return List.of();
    }
    List<String> hits = new ArrayList<>();
    for (String line : Files.readAllLines(LOG, StandardCharsets.UTF_8)) {
      if (line.contains(TOKEN) || line.contains(TOKEN.substring(3))) {
        hits.add(line);
      }
    }
    return hits;
  }

  /** Exceptions (with causes and suppressed) whose message or text carries the token. */
  static List<String> errorsWithToken() {
    List<String> hits = new ArrayList<>();
    for (Throwable t : ERRORS) {
      java.io.StringWriter sw = new java.io.StringWriter();
      t.printStackTrace(new java.io.PrintWriter(sw));
      if (sw.toString().contains(TOKEN)) {
        hits.add(t.toString());
      }
    }
    return hits;
  }

  @SuppressWarnings("deprecation") // the three-argument factory method is the abstract one
  private static void installLeakRecorder() {
    ResourceLeakDetectorFactory.setResourceLeakDetectorFactory(
        new ResourceLeakDetectorFactory() {
          @Override
          public <T> ResourceLeakDetector<T> newResourceLeakDetector(
              Class<T> resource, int samplingInterval, long maxActive) {
            return newResourceLeakDetector(resource, samplingInterval);
          }

          @Override
          public <T> ResourceLeakDetector<T> newResourceLeakDetector(
              Class<T> resource, int samplingInterval) {
            return new ResourceLeakDetector<T>(resource, samplingInterval) {
              @Override
              protected void reportTracedLeak(String type, String records) {
                LEAKS.add(type + records);
                super.reportTracedLeak(type, records);
              }

              @Override
              protected void reportUntracedLeak(String type) {
                LEAKS.add(type);
                super.reportUntracedLeak(type);
              }
            };
          }
        });
  }
}
