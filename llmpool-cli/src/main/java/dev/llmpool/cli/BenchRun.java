package dev.llmpool.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.llmpool.LlmPool;
import dev.llmpool.Origin;
import dev.llmpool.PoolStats;
import dev.llmpool.http.HttpRequest;
import dev.llmpool.http.HttpResponse;
import dev.llmpool.http.StreamingResponse;
import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import java.lang.management.OperatingSystemMXBean;
import java.net.URI;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;
import org.jspecify.annotations.Nullable;

/**
 * One {@code llmpool bench} run: sends the planned requests through one pool and accounts for each
 * of them (succeeded, or failed and counted by kind; after Ctrl-C, cancelled or never sent).
 *
 * <p>Closed-loop: {@code concurrency} workers, each sending its next request when its last one
 * ended; latency is each request's own time. Open-loop ({@code rate}): a pacer starts request i at
 * {@code t0 + i / rate} whatever the server does, each on a thread of its own; latency runs from
 * that intended start, so time spent queued behind a slow server (in the pool, or because the pacer
 * itself fell behind) counts, and {@code service_ms} is the time from the actual send.
 */
final class BenchRun {
  /** After Ctrl-C, requests in flight get this long to finish before they are cancelled. */
  static final Duration STOP_GRACE = Duration.ofSeconds(2);

  /** What to send, how much and how. */
  record Plan(
      URI url,
      int concurrency,
      @Nullable Long requests,
      @Nullable Duration duration,
      @Nullable Double rate,
      Map<String, String> headers,
      String body,
      boolean stream,
      boolean defaultBody) {

    boolean openLoop() {
      return rate != null;
    }

    String describe() {
      String amount =
          requests != null
              ? requests + (requests == 1 ? " request" : " requests")
              : "requests for "
                  + Format.duration(duration == null ? 0.0 : (double) duration.toMillis());
      String mode =
          rate != null
              ? String.format(Locale.ROOT, "open-loop at %s requests/s", trim(rate))
              : "closed-loop, " + concurrency + " in flight";
      return "llmpool bench: "
          + amount
          + ", POST "
          + Origin.of(url)
          + url.getRawPath()
          + (stream ? " (streamed)" : "")
          + ", "
          + mode
          + ".";
    }
  }

  private final Plan plan;
  private final ConnectionCounter client = new ConnectionCounter(null);
  private final Latencies latency = new Latencies();
  private final Latencies service = new Latencies();
  private final Latencies ttfb = new Latencies();
  private final Map<String, LongAdder> errors = new ConcurrentHashMap<>();
  private final AtomicReference<@Nullable String> firstError = new AtomicReference<>();
  private final AtomicLong issued = new AtomicLong();
  private final AtomicLong succeeded = new AtomicLong();
  private final AtomicLong failed = new AtomicLong();
  private final AtomicLong lastEnd = new AtomicLong();
  private volatile boolean accounting = true;
  private long notSent;
  private long elapsedNanos;
  private boolean interrupted;
  private @Nullable Long cpuNanos;
  private @Nullable PoolStats stats;
  private volatile double utilization;

  private BenchRun(Plan plan) {
    this.plan = plan;
  }

  /** A small chat request: one user message, a short answer. */
  static String defaultBody(String model, boolean stream) {
    ObjectNode b = Calls.JSON.createObjectNode().put("model", model);
    b.putArray("messages")
        .addObject()
        .put("role", "user")
        .put("content", "Reply with one word: ok");
    b.put("max_tokens", 16);
    if (stream) {
      b.put("stream", true);
    }
    return b.toString();
  }

  /**
   * Runs the plan.
   *
   * @throws dev.llmpool.LlmPoolException when the first connection cannot be opened (the server is
   *     down, refuses TLS...): the message names the phase and host
   * @throws java.util.concurrent.CancellationException when stopped before the first request
   */
  static BenchRun run(
      Plan plan, LlmPool.Builder builder, Progress.Mode mode, PrintWriter err, StopSignal stop)
      throws InterruptedException {
    BenchRun run = new BenchRun(plan);
    builder.eventListener(run.client.listener());
    try (LlmPool pool = builder.build()) {
      // One connection first: a server that is down or refuses TLS ends here, with one line.
      Waits.get(pool.prewarm(1), stop);
      run.execute(pool, mode, err, stop);
      run.stats = pool.stats();
    }
    return run;
  }

  private void execute(LlmPool pool, Progress.Mode mode, PrintWriter err, StopSignal stop)
      throws InterruptedException {
    HttpRequest.Builder rb = HttpRequest.post(plan.url().toString()).json(plan.body());
    plan.headers().forEach(rb::header);
    if (plan.stream()) {
      rb.header("accept", "text/event-stream");
    }
    HttpRequest request = rb.build();

    Duration duration = plan.duration();
    Long requests = plan.requests();
    long max = requests != null ? requests : duration != null ? duration.toSeconds() : -1;
    String unit = requests != null ? "requests" : "s";
    long cpu0 = cpuTime();
    long t0 = Ticks.now();
    long end = duration != null ? t0 + duration.toNanos() : Long.MAX_VALUE;
    Double rate = plan.rate();
    ExecutorService workers = null;
    Thread driver;
    if (rate != null) {
      ExecutorService perRequest = Threads.perTask("llmpool-bench");
      workers = perRequest;
      driver =
          new Thread(
              () -> pace(pool, request, rate, t0, end, perRequest, stop), "llmpool-bench-pacer");
    } else {
      driver = new Thread(() -> closedLoop(pool, request, end, stop), "llmpool-bench-workers");
    }
    driver.setDaemon(true);
    try (Progress p = Progress.start(mode, err, "bench", max, unit)) {
      driver.start();
      long stopAt = Long.MAX_VALUE;
      while (true) {
        boolean driverDone = !driver.isAlive();
        long inFlight = issued.get() - succeeded.get() - failed.get();
        if (driverDone && inFlight == 0) {
          break;
        }
        long now = Ticks.now();
        if (stop.isStopped() && stopAt == Long.MAX_VALUE) {
          stopAt = now; // no new request starts; those in flight get a grace period
        }
        if (now - stopAt > STOP_GRACE.toNanos()) {
          break;
        }
        sample(pool);
        progress(p, t0, now);
        stop.await(100_000_000L);
      }
      sample(pool);
      progress(p, t0, Ticks.now());
    } finally {
      // Whatever is still running after a stop is cancelled (interrupting a blocked call cancels
      // it).
      driver.interrupt();
      if (workers != null) {
        workers.shutdownNow();
      }
    }
    closedLoopWorkers.forEach(Thread::interrupt);
    driver.join(TimeUnit.SECONDS.toMillis(5));
    if (workers != null) {
      workers.awaitTermination(5, TimeUnit.SECONDS);
    }
    for (Thread t : closedLoopWorkers) {
      t.join(TimeUnit.SECONDS.toMillis(5));
    }
    accounting = false;
    // Anything still unaccounted for (a call that ignored its interrupt) is counted as cancelled.
    long open = issued.get() - succeeded.get() - failed.get();
    if (open > 0) {
      errors.computeIfAbsent(Failures.CANCELLED, k -> new LongAdder()).add(open);
      failed.addAndGet(open);
    }
    interrupted = stop.isStopped();
    if (requests != null) {
      notSent = requests - issued.get();
    }
    long last = lastEnd.get();
    elapsedNanos = (last == 0 ? Ticks.now() : last) - t0;
    long cpu1 = cpuTime();
    cpuNanos = cpu0 >= 0 && cpu1 >= 0 ? cpu1 - cpu0 : null;
  }

  private final java.util.List<Thread> closedLoopWorkers =
      new java.util.concurrent.CopyOnWriteArrayList<>();

  /** Closed loop: {@code concurrency} workers until the requests are sent or the time is up. */
  private void closedLoop(LlmPool pool, HttpRequest request, long end, StopSignal stop) {
    AtomicLong left = new AtomicLong(plan.requests() != null ? plan.requests() : Long.MAX_VALUE);
    for (int i = 0; i < plan.concurrency(); i++) {
      Thread t =
          Threads.start(
              "llmpool-bench-worker-" + i,
              () -> {
                while (!stop.isStopped()
                    && !Thread.currentThread().isInterrupted()
                    && Ticks.now() < end
                    && left.getAndDecrement() > 0) {
                  long start = Ticks.now();
                  issued.incrementAndGet();
                  exchange(pool, request, start, start);
                }
              });
      closedLoopWorkers.add(t);
    }
    for (Thread t : closedLoopWorkers) {
      try {
        t.join();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }

  /** Open loop: request i starts at {@code t0 + i / rate}, each on a thread of its own. */
  private void pace(
      LlmPool pool,
      HttpRequest request,
      double rate,
      long t0,
      long end,
      ExecutorService workers,
      StopSignal stop) {
    double interval = 1e9 / rate;
    long limit = plan.requests() != null ? plan.requests() : Long.MAX_VALUE;
    for (long i = 0; i < limit; i++) {
      long intended = t0 + (long) (i * interval);
      if (intended >= end || stop.isStopped()) {
        return;
      }
      try {
        long wait = intended - Ticks.now();
        if (wait > 0 && stop.await(wait)) {
          return;
        }
      } catch (InterruptedException e) {
        return;
      }
      issued.incrementAndGet();
      workers.execute(() -> exchange(pool, request, intended, Ticks.now()));
    }
  }

  /** One request, accounted for whatever happens. */
  private void exchange(LlmPool pool, HttpRequest request, long intended, long start) {
    long firstByte = 0;
    Throwable error = null;
    try {
      if (plan.stream()) {
        try (StreamingResponse r = pool.stream(request)) {
          firstByte = Ticks.now();
          if (r.status() < 200 || r.status() > 299) {
            byte[] body = r.readAll();
            throw Calls.statusFailure(
                pool, new HttpResponse(r.status(), r.headers(), r.version(), body), secret());
          }
          while (r.readChunk() != null) {
            // read to the end: a streamed answer is done when its last event has arrived
          }
        }
      } else {
        HttpResponse r = pool.send(request);
        if (!r.isSuccessful()) {
          throw Calls.statusFailure(pool, r, secret());
        }
      }
    } catch (RuntimeException e) {
      error = e;
    }
    long now = Ticks.now();
    if (!accounting) {
      return;
    }
    lastEnd.accumulateAndGet(now, Math::max);
    if (error == null) {
      latency.record(now - intended);
      service.record(now - start);
      if (firstByte != 0) {
        ttfb.record(firstByte - intended);
      }
      succeeded.incrementAndGet();
    } else {
      String kind = Failures.kind(error);
      errors.computeIfAbsent(kind, k -> new LongAdder()).increment();
      if (!Failures.CANCELLED.equals(kind)) {
        firstError.compareAndSet(null, Failures.oneLine(error));
      }
      failed.incrementAndGet();
    }
  }

  /** The credential sent (Authorization after its scheme, x-api-key, api-key), to mask. */
  private @Nullable String secret() {
    for (Map.Entry<String, String> h : plan.headers().entrySet()) {
      String name = h.getKey().toLowerCase(Locale.ROOT);
      String v = h.getValue();
      if (name.equals("authorization")) {
        int space = v.indexOf(' ');
        return space < 0 ? v : v.substring(space + 1).trim();
      }
      if (name.equals("x-api-key") || name.equals("api-key")) {
        return v;
      }
    }
    return null;
  }

  /** The pool's utilization now, for the progress line. */
  private void sample(LlmPool pool) {
    utilization = binding(pool.stats()).utilization();
  }

  /**
   * The figures against the limit that binds: the origin's when it has one (bench talks to one
   * origin, and {@code maxConnectionsPerHost} may be below {@code maxConnections}), else the whole
   * pool's.
   */
  private static PoolStats binding(PoolStats whole) {
    PoolStats tightest = whole;
    for (PoolStats o : whole.byOrigin().values()) {
      if (o.peakUtilization() > tightest.peakUtilization()
          || (o.peakUtilization() == tightest.peakUtilization() && o.limit() < tightest.limit())) {
        tightest = o;
      }
    }
    return tightest;
  }

  private void progress(Progress p, long t0, long now) {
    Duration d = plan.duration();
    if (d == null) {
      p.stepTo(succeeded.get() + failed.get());
    } else {
      p.stepTo(Math.min(d.toSeconds(), (now - t0) / 1_000_000_000L));
    }
    long ok = succeeded.get();
    long bad = failed.get();
    double secs = (now - t0) / 1e9;
    p.message(
        String.format(
            Locale.ROOT,
            "%d ok, %d failed, %.0f/s, p50 %s ms, %d conn, %.0f%% used",
            ok,
            bad,
            secs > 0 ? ok / secs : 0.0,
            Format.ms(latency.percentileMs(50)),
            client.connects(),
            utilization * 100));
  }

  private static long cpuTime() {
    OperatingSystemMXBean os = ManagementFactory.getOperatingSystemMXBean();
    if (os instanceof com.sun.management.OperatingSystemMXBean sun) {
      return sun.getProcessCpuTime();
    }
    return -1;
  }

  // ---------------------------------------------------------------- results

  long issued() {
    return issued.get();
  }

  long succeeded() {
    return succeeded.get();
  }

  long failed() {
    return failed.get();
  }

  boolean interrupted() {
    return interrupted;
  }

  @Nullable String firstError() {
    return firstError.get();
  }

  Map<String, Long> errorsByKind() {
    Map<String, Long> m = new TreeMap<>();
    errors.forEach((k, v) -> m.put(k, v.sum()));
    return m;
  }

  double throughputRps() {
    return elapsedNanos <= 0 ? 0 : succeeded.get() / (elapsedNanos / 1e9);
  }

  /** Share of requests that rode a connection which had carried one before. */
  @Nullable Double reuseRatio() {
    long n = client.acquiredNew() + client.acquiredReused();
    return n == 0 ? null : (double) client.acquiredReused() / n;
  }

  /**
   * The pool's peak utilization ({@link PoolStats#peakUtilization()}: sampled by the pool about
   * once a second, and never below peak active / limit), against the limit that binds.
   */
  double peakUtilization() {
    PoolStats s = stats;
    return s == null ? 0 : binding(s).peakUtilization();
  }

  /** Utilization warnings the pool logged during the run (whole pool and per origin). */
  long utilizationWarnings() {
    PoolStats s = stats;
    if (s == null) {
      return 0;
    }
    long n = s.utilizationWarnings();
    for (PoolStats o : s.byOrigin().values()) {
      n = Math.max(n, o.utilizationWarnings());
    }
    return n;
  }

  /** Whether the pool logged a utilization warning, for the whole pool or an origin. */
  private static boolean warningFired(PoolStats s) {
    boolean fired = s.utilizationWarningFired();
    for (PoolStats o : s.byOrigin().values()) {
      fired |= o.utilizationWarningFired();
    }
    return fired;
  }

  /** The pool's statistics at the end of the run (null when it never started). */
  @Nullable PoolStats poolStats() {
    return stats;
  }

  @Nullable Double cpuMsPerRequest() {
    long n = issued.get();
    return cpuNanos == null || n == 0 ? null : cpuNanos / 1e6 / n;
  }

  Map<String, Object> toJson() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("url", Origin.of(plan.url()) + plan.url().getRawPath());
    m.put("mode", plan.openLoop() ? "open-loop" : "closed-loop");
    m.put("rate", plan.rate());
    m.put("concurrency", plan.openLoop() ? null : plan.concurrency());
    m.put("stream", plan.stream());
    m.put("protocol", protocols());
    m.put("requests", issued.get());
    m.put("succeeded", succeeded.get());
    Map<String, Object> e = new LinkedHashMap<>();
    e.put("total", failed.get());
    e.put("by_kind", errorsByKind());
    m.put("errors", e);
    m.put("duration_s", Format.round3(elapsedNanos / 1e9));
    m.put("throughput_rps", Format.round1(throughputRps()));
    m.put("latency_ms", latency.toMap("p50", "p90", "p99", "p999", "max", "mean"));
    if (plan.openLoop()) {
      m.put("service_ms", service.toMap("p50", "p90", "p99", "p999", "max"));
    }
    if (plan.stream()) {
      m.put("ttfb_ms", ttfb.toMap("p50", "p90", "p99", "max"));
    }
    PoolStats s = stats;
    m.put("connections_opened", s != null ? s.opened() : client.connects());
    Double reuse = reuseRatio();
    m.put("reuse_ratio", reuse == null ? null : Format.round3(reuse));
    Map<String, Object> pool = new LinkedHashMap<>();
    pool.put("peak_open_connections", s == null ? null : s.peakOpen());
    pool.put("peak_active", s == null ? null : s.peakActive());
    pool.put("peak_pending", s == null ? null : s.peakPending());
    pool.put("peak_utilization", s == null ? null : Format.round3(peakUtilization()));
    pool.put("warning_fired", s == null ? null : warningFired(s));
    if (s != null) {
      PoolStats b = binding(s);
      pool.put("limit", b.limit());
      pool.put("utilization_warnings", utilizationWarnings());
      pool.put("reused", s.reused());
      pool.put("closed", s.closed());
      Map<String, Long> reasons = new LinkedHashMap<>();
      s.closedByReason().forEach((r, n) -> reasons.put(r.label(), n));
      pool.put("closed_by_reason", reasons);
      pool.put("pool_timeouts", s.acquireTimeouts());
      pool.put("rejected", s.rejected());
      pool.put("connect_failures", s.connectFailures());
      pool.put("stats", s.toString());
    }
    m.put("pool", pool);
    Double cpu = cpuMsPerRequest();
    m.put("cpu_ms_per_request", cpu == null ? null : Format.round3(cpu));
    m.put("load_average", Format.round1(Load.average()));
    m.put("cpus", Runtime.getRuntime().availableProcessors());
    m.put("interrupted", interrupted);
    if (plan.requests() != null) {
      m.put("not_sent", notSent);
    }
    return m;
  }

  private @Nullable String protocols() {
    Set<String> p = client.protocols();
    return p.isEmpty() ? null : String.join(", ", p);
  }

  String summary() {
    StringBuilder b = new StringBuilder();
    if (interrupted) {
      b.append("Interrupted: the figures so far.\n");
    }
    line(
        b,
        "requests",
        issued.get()
            + " ("
            + succeeded.get()
            + " succeeded, "
            + failed.get()
            + " failed"
            + (notSent > 0 ? ", " + notSent + " not sent" : "")
            + ")");
    line(
        b,
        "throughput",
        String.format(
            Locale.ROOT, "%.1f requests/s over %.2f s", throughputRps(), elapsedNanos / 1e9));
    line(
        b,
        "latency",
        percentiles(latency) + (plan.openLoop() ? "  (from each request's scheduled start)" : ""));
    if (plan.openLoop()) {
      line(b, "service", percentiles(service) + "  (from the actual send)");
    }
    if (plan.stream()) {
      line(b, "first byte", percentiles(ttfb));
    }
    PoolStats s = stats;
    Double reuse = reuseRatio();
    line(
        b,
        "connections",
        (s != null ? s.opened() : client.connects())
            + " opened"
            + (reuse == null
                ? ""
                : String.format(Locale.ROOT, ", %.1f%% of requests reused one", reuse * 100))
            + (protocols() == null ? "" : ", " + protocols()));
    if (s != null) {
      long warnings = utilizationWarnings();
      line(
          b,
          "pool",
          String.format(
              Locale.ROOT,
              "peak %d open, %d active, %d waiting; peak utilization %.0f%% of %d; "
                  + "utilization warning %s",
              s.peakOpen(),
              s.peakActive(),
              s.peakPending(),
              peakUtilization() * 100,
              binding(s).limit(),
              warnings == 0 ? "not fired" : "fired" + (warnings > 1 ? " " + warnings + "x" : "")));
      if (s.acquireTimeouts() > 0 || s.rejected() > 0) {
        line(
            b,
            "",
            s.acquireTimeouts()
                + " calls timed out waiting for a connection, "
                + s.rejected()
                + " were rejected (too many waiting)");
      }
      line(b, "pool stats", s.toString());
    }
    Double cpu = cpuMsPerRequest();
    if (cpu != null) {
      line(b, "client CPU", String.format(Locale.ROOT, "%.3f ms per request", cpu));
    }
    if (failed.get() > 0) {
      line(b, "errors", errorsByKind().toString());
      String first = firstError();
      if (first != null) {
        line(b, "first error", first);
      }
    }
    return b.toString();
  }

  private static String percentiles(Latencies l) {
    if (l.count() == 0) {
      return "-";
    }
    return String.format(
        Locale.ROOT,
        "p50 %s  p90 %s  p99 %s  p99.9 %s  max %s ms",
        Format.ms(l.percentileMs(50)),
        Format.ms(l.percentileMs(90)),
        Format.ms(l.percentileMs(99)),
        Format.ms(l.percentileMs(99.9)),
        Format.ms(l.maxMs()));
  }

  private static void line(StringBuilder b, String name, String value) {
    b.append(Format.left(name, 12)).append(value).append('\n');
  }

  private static String trim(double v) {
    return v == Math.rint(v)
        ? Long.toString((long) v)
        : String.format(Locale.ROOT, "%.2f", v).replaceAll("0+$", "");
  }
}
