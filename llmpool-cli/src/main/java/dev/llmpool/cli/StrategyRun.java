package dev.llmpool.cli;

import dev.llmpool.LlmPool;
import dev.llmpool.PoolStats;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.DoubleAccumulator;
import java.util.concurrent.atomic.LongAdder;
import org.jspecify.annotations.Nullable;

/**
 * One strategy's run of the agent workload, and everything measured in it: each agent request is
 * {@code callsPerAgent} chat calls made one after the other; {@code concurrency} agents run at
 * once, on threads of their own, until {@code agents} requests are done.
 *
 * <p>Call latency is measured around the library call alone (for {@link
 * Strategy#NEW_CONNECTION_PER_CALL} that excludes building and closing the client, reported apart
 * as {@link #clientSetup} and {@link #clientTeardown}); an agent request's time is its wall-clock
 * time, set-up included, since that is what its user waits for.
 */
final class StrategyRun {

  /** The workload's shape. */
  record Workload(int agents, int callsPerAgent, int concurrency) {
    int calls() {
      return agents * callsPerAgent;
    }

    /** Agents running at once. */
    int parallel() {
      return Math.min(agents, concurrency);
    }
  }

  /** One call: when it started (since the run started), how long it took, whether it succeeded. */
  record CallRecord(long startNanos, long latencyNanos, int agent, int index, boolean ok) {}

  final Strategy strategy;
  final Workload workload;
  final Latencies calls = new Latencies();
  final Latencies agentRequests = new Latencies();
  final Latencies firstCalls = new Latencies();
  final Latencies clientSetup = new Latencies();
  final Latencies clientTeardown = new Latencies();
  final ConnectionCounter client;
  private final List<CallRecord> records = new ArrayList<>(); // guarded by itself
  private final Map<String, LongAdder> errors = new ConcurrentHashMap<>();
  private final AtomicReference<@Nullable String> firstError = new AtomicReference<>();
  private final AtomicLong cancelled = new AtomicLong();
  private final AtomicInteger done = new AtomicInteger();
  long wallNanos;
  boolean interrupted;
  DemoTarget.@Nullable ServerCounts server;
  @Nullable PoolStats poolStats;

  /** New connection per call: the pools made, their highest peak utilization, their warnings. */
  final AtomicLong freshPools = new AtomicLong();

  final DoubleAccumulator freshPeakUtilization = new DoubleAccumulator(Math::max, 0);
  final AtomicLong freshWarnings = new AtomicLong();
  final AtomicInteger freshPeakOpen = new AtomicInteger();
  final AtomicInteger freshPeakActive = new AtomicInteger();

  /** The client's TLS implementation and I/O transport, e.g. "OpenSSL (BoringSSL)", "epoll". */
  @Nullable String tlsProvider;

  @Nullable String ioTransport;

  StrategyRun(Strategy strategy, Workload workload, @Nullable Latencies connectTimes) {
    this.strategy = strategy;
    this.workload = workload;
    this.client = new ConnectionCounter(connectTimes);
  }

  /**
   * Runs the workload against {@code target}; returns when every agent is done or after {@code
   * stop}, with the calls in flight cancelled.
   *
   * @throws dev.llmpool.LlmPoolException when pre-warming fails
   */
  static StrategyRun run(
      Strategy strategy,
      Workload workload,
      DemoTarget target,
      @Nullable Latencies connectTimes,
      Progress progress,
      StopSignal stop)
      throws InterruptedException {
    StrategyRun run = new StrategyRun(strategy, workload, connectTimes);
    run.execute(target, progress, stop);
    return run;
  }

  private void execute(DemoTarget target, Progress progress, StopSignal stop)
      throws InterruptedException {
    DemoTarget.ServerCounts before = target.serverCounts();
    LlmPool shared =
        strategy.pooled() ? target.poolBuilder(strategy, client.listener()).build() : null;
    ExecutorService agents =
        Executors.newFixedThreadPool(
            workload.parallel(),
            r -> {
              Thread t = new Thread(r, "llmpool-demo-agent");
              t.setDaemon(true);
              return t;
            });
    try {
      if (shared != null && strategy == Strategy.POOLED_HTTP2_PREWARMED) {
        // What an application does at start-up: open the connections, then take traffic.
        int connections = (workload.parallel() + 99) / 100; // servers allow ~100 streams each
        Waits.get(shared.prewarm(connections), stop);
      }
      // One chat client per pool, shared by the agents, as the library's documentation says.
      Calls.Caller sharedCaller = shared == null ? null : target.call.on(shared);
      long t0 = Ticks.now();
      ProgressMessage message = new ProgressMessage(progress);
      for (int a = 0; a < workload.agents(); a++) {
        int agent = a;
        agents.execute(() -> agent(agent, t0, target, sharedCaller, progress, message, stop));
      }
      agents.shutdown();
      while (!agents.awaitTermination(50, TimeUnit.MILLISECONDS)) {
        if (stop.isStopped()) {
          interrupted = true;
          agents.shutdownNow(); // interrupts blocked calls: they are cancelled
        }
      }
      wallNanos = Ticks.now() - t0;
      interrupted |= stop.isStopped();
      message.update(true);
    } finally {
      agents.shutdownNow();
      if (shared != null) {
        poolStats = shared.stats();
        tlsProvider = shared.tlsProvider();
        ioTransport = shared.ioTransport();
        shared.close();
      }
    }
    DemoTarget.ServerCounts after = target.serverCounts();
    if (before != null && after != null) {
      server = after.minus(before);
    }
  }

  private void agent(
      int agent,
      long t0,
      DemoTarget target,
      Calls.@Nullable Caller shared,
      Progress progress,
      ProgressMessage message,
      StopSignal stop) {
    long start = Ticks.now();
    int n = workload.callsPerAgent();
    for (int i = 0; i < n; i++) {
      if (stop.isStopped() || Thread.currentThread().isInterrupted()) {
        return; // an unfinished agent request has no duration
      }
      String prompt =
          "Agent request "
              + (agent + 1)
              + ", step "
              + (i + 1)
              + " of "
              + n
              + ": reply with one word.";
      if (shared != null) {
        timedCall(shared, prompt, agent, i, t0);
      } else {
        long s0 = Ticks.now();
        LlmPool fresh = target.poolBuilder(strategy, client.listener()).build();
        Calls.Caller caller = target.call.on(fresh);
        clientSetup.record(Ticks.now() - s0);
        try {
          timedCall(caller, prompt, agent, i, t0);
        } finally {
          PoolStats fs = fresh.stats();
          freshPools.incrementAndGet();
          freshPeakUtilization.accumulate(fs.peakUtilization());
          freshWarnings.addAndGet(fs.utilizationWarnings());
          freshPeakOpen.accumulateAndGet(fs.peakOpen(), Math::max);
          freshPeakActive.accumulateAndGet(fs.peakActive(), Math::max);
          long c0 = Ticks.now();
          fresh.close();
          clientTeardown.record(Ticks.now() - c0);
        }
      }
      progress.step();
      message.update(false);
    }
    agentRequests.record(Ticks.now() - start);
  }

  private void timedCall(Calls.Caller caller, String prompt, int agent, int index, long t0) {
    long c0 = Ticks.now();
    boolean ok = false;
    try {
      caller.call(prompt);
      ok = true;
    } catch (RuntimeException e) {
      String kind = Failures.kind(e);
      if (Failures.CANCELLED.equals(kind) || Thread.currentThread().isInterrupted()) {
        cancelled.incrementAndGet();
        return; // stopped by Ctrl-C: not a call that was made
      }
      errors.computeIfAbsent(kind, k -> new LongAdder()).increment();
      firstError.compareAndSet(null, Failures.oneLine(e));
    }
    long latency = Ticks.now() - c0;
    if (ok) {
      calls.record(latency);
      if (index == 0 && agent < workload.parallel()) {
        firstCalls.record(latency);
      }
    }
    done.incrementAndGet();
    synchronized (records) {
      records.add(new CallRecord(c0 - t0, latency, agent, index, ok));
    }
  }

  /** Calls made (succeeded or failed; cancelled ones not counted). */
  int callsMade() {
    return done.get();
  }

  long errorCount() {
    long n = 0;
    for (LongAdder a : errors.values()) {
      n += a.sum();
    }
    return n;
  }

  /** Failed calls by kind, sorted by name. */
  Map<String, Long> errorsByKind() {
    Map<String, Long> m = new TreeMap<>();
    errors.forEach((k, v) -> m.put(k, v.sum()));
    return m;
  }

  @Nullable String firstError() {
    return firstError.get();
  }

  long cancelled() {
    return cancelled.get();
  }

  /** Every call, in the order they started. */
  List<CallRecord> records() {
    List<CallRecord> copy;
    synchronized (records) {
      copy = new ArrayList<>(records);
    }
    copy.sort(Comparator.comparingLong(CallRecord::startNanos));
    return copy;
  }

  /** The latency of the run's first call (the first to start), in ms; NaN if it failed. */
  double firstCallMs() {
    List<CallRecord> all = records();
    if (all.isEmpty() || !all.get(0).ok()) {
      return Double.NaN;
    }
    return all.get(0).latencyNanos() / 1e6;
  }

  /** Connections opened: the server's count when the server is ours, else the client's. */
  long connectionsOpened() {
    return server != null ? server.connections() : client.connects();
  }

  /** TLS handshakes: the server's count when the server is ours, else the client's. */
  long tlsHandshakes() {
    return server != null ? server.tlsHandshakes() : client.tlsHandshakes();
  }

  /** The pool's peak utilization (for new-connection-per-call, the highest of its pools). */
  double peakUtilization() {
    PoolStats s = poolStats;
    return s != null ? s.peakUtilization() : freshPeakUtilization.get();
  }

  /** Whether the strategy's pool (or any of its pools) logged a utilization warning. */
  boolean warningFired() {
    PoolStats s = poolStats;
    return s != null ? s.utilizationWarningFired() : freshWarnings.get() > 0;
  }

  /** Utilization warnings the strategy's pool (or pools) logged. */
  long utilizationWarnings() {
    PoolStats s = poolStats;
    return s != null ? s.utilizationWarnings() : freshWarnings.get();
  }

  /** Refreshes the progress bar's message at most every 100 ms. */
  private final class ProgressMessage {
    private final Progress progress;
    private final AtomicLong last = new AtomicLong(Ticks.now() - 1_000_000_000L);

    ProgressMessage(Progress progress) {
      this.progress = progress;
    }

    void update(boolean force) {
      long now = Ticks.now();
      long prev = last.get();
      if (!force && (now - prev < 100_000_000L || !last.compareAndSet(prev, now))) {
        return;
      }
      long err = errorCount();
      // Fixed widths, so that the bar keeps its length as the numbers change.
      progress.message(
          String.format(
              Locale.ROOT,
              "p50 %6s ms, %4d conn%s",
              Format.ms(calls.percentileMs(50)),
              client.connects(),
              err > 0 ? ", " + err + " errors" : ""));
    }
  }
}
