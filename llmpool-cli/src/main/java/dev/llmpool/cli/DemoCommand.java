package dev.llmpool.cli;

import dev.llmpool.LlmPool;
import java.io.PrintWriter;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CountDownLatch;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code llmpool demo}: the README's first command. Runs one agent workload four ways (a new
 * connection per call, pooled HTTP/1.1, pooled HTTP/2, pooled HTTP/2 pre-warmed) against the
 * embedded mock server behind a latency proxy, or against a real API, and shows what pooling saves.
 */
@Command(
    name = "demo",
    mixinStandardHelpOptions = true,
    sortOptions = false,
    description = {
      "Show what connection pooling saves on an agent workload: each agent request is a",
      "series of chat calls, made four ways (a new connection per call, pooled HTTP/1.1,",
      "pooled HTTP/2, pooled HTTP/2 pre-warmed) against an embedded mock LLM server behind",
      "a latency proxy, or against a real API with --base-url. Ctrl-C stops it and shows",
      "the figures so far."
    })
final class DemoCommand implements Callable<Integer> {

  static final Duration DEFAULT_RTT = Duration.ofMillis(50);
  static final int DEFAULT_AGENTS = 10;
  static final int DEFAULT_CALLS = 20;
  static final int DEFAULT_CONCURRENCY = 10;

  /** Against a real API the defaults are smaller: every call is billed and rate-limited. */
  static final int REMOTE_AGENTS = 5;

  static final int REMOTE_CALLS = 10;
  static final int REMOTE_CONCURRENCY = 5;

  @SuppressWarnings("NullAway.Init") // injected by picocli before call()
  @Spec
  CommandSpec spec;

  @Option(
      names = "--rtt",
      paramLabel = "DURATION",
      converter = DurationConverter.class,
      description = "Round trip time the latency proxy adds, like 50ms (default: 50ms).")
  @Nullable Duration rtt;

  @Option(
      names = "--agents",
      paramLabel = "N",
      description = "Agent requests to make per strategy (default: 10; 5 against a real API).")
  @Nullable Integer agents;

  @Option(
      names = "--calls-per-agent",
      paramLabel = "N",
      description = "Chat calls per agent request, one after the other (default: 20; 10 real).")
  @Nullable Integer callsPerAgent;

  @Option(
      names = "--concurrency",
      paramLabel = "N",
      description = "Agent requests running at once (default: 10; 5 against a real API).")
  @Nullable Integer concurrency;

  @Option(
      names = "--json",
      paramLabel = "FILE",
      description = "Also write the figures as JSON to FILE ('-' for stdout, then no table).")
  @Nullable Path json;

  @Option(
      names = "--report",
      paramLabel = "FILE.html",
      description = "Also write a self-contained HTML report with charts to FILE.html.")
  @Nullable Path report;

  @Option(
      names = "--base-url",
      paramLabel = "URL",
      description = {
        "Run against this OpenAI-compatible API instead, like https://api.openai.com/v1",
        "(key from --api-key-env; no simulated round trip)."
      })
  @Nullable String baseUrl;

  @Option(
      names = "--model",
      paramLabel = "NAME",
      description = "Model to ask (required with --base-url; default on the mock: mock-model).")
  @Nullable String model;

  @Option(
      names = "--api-key-env",
      paramLabel = "VAR",
      defaultValue = "OPENAI_API_KEY",
      description =
          "With --base-url: the environment variable with the key (default: ${DEFAULT-VALUE}).")
  String apiKeyEnv = "OPENAI_API_KEY";

  @Option(
      names = "--cacert",
      paramLabel = "FILE",
      description = "With --base-url: trust the certificates in this PEM file.")
  @Nullable Path caCert;

  @Option(
      names = "--server-latency",
      paramLabel = "DURATION",
      converter = DurationConverter.class,
      description = "The mock server's time per reply, like 200ms (default: 0ms).")
  @Nullable Duration serverLatency;

  @Option(names = "--no-progress", description = "No progress bar or progress lines.")
  boolean noProgress;

  /** Ctrl-C, or a test. */
  final StopSignal stop = new StopSignal("demo");

  /** Counted down when the first measured strategy starts (tests). */
  final CountDownLatch measuring = new CountDownLatch(1);

  /** The results of the last run (tests). */
  volatile @Nullable DemoResults lastResults;

  @Override
  public Integer call() throws Exception {
    Settings s = settings();
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    quietManyPoolsWarning();
    if (report != null) {
      HtmlReport.prepare(); // fails now, not after the run, where Java cannot draw
    }
    stop.install();
    try {
      return run(s, out, err);
    } finally {
      out.flush();
      err.flush();
      stop.close();
    }
  }

  /** The validated options. */
  private record Settings(
      @Nullable URI remote,
      @Nullable String apiKey,
      String model,
      Duration rtt,
      Duration serverLatency,
      StrategyRun.Workload workload,
      boolean jsonToStdout) {}

  private Settings settings() {
    URI remote = null;
    String key = null;
    if (baseUrl != null) {
      try {
        remote = URI.create(baseUrl.trim());
        LlmPool.builder().baseUrl(remote); // the library's own checks
      } catch (IllegalArgumentException e) {
        throw usage("--base-url '" + baseUrl + "' is not usable: " + e.getMessage());
      }
      if (model == null || model.isBlank()) {
        throw usage("--base-url needs --model, like --model gpt-4o-mini");
      }
      if (rtt != null) {
        throw usage(
            "--rtt simulates a network for the embedded server; with --base-url the"
                + " network is real");
      }
      if (serverLatency != null) {
        throw usage("--server-latency applies to the embedded server only");
      }
      String k = System.getenv(apiKeyEnv);
      key = k == null || k.isBlank() ? null : k.trim();
    } else if (caCert != null) {
      throw usage("--cacert applies to --base-url");
    }
    if (caCert != null && !Files.isReadable(caCert)) {
      throw usage("--cacert: cannot read " + caCert);
    }
    boolean isRemote = remote != null;
    int a = positive("--agents", agents, isRemote ? REMOTE_AGENTS : DEFAULT_AGENTS, 100_000);
    int c =
        positive(
            "--calls-per-agent", callsPerAgent, isRemote ? REMOTE_CALLS : DEFAULT_CALLS, 100_000);
    int k =
        positive(
            "--concurrency",
            concurrency,
            isRemote ? REMOTE_CONCURRENCY : DEFAULT_CONCURRENCY,
            2_000);
    if ((long) a * c > 10_000_000L) {
      throw usage("--agents x --calls-per-agent is over 10 million calls per strategy");
    }
    Duration r = rtt != null ? rtt : DEFAULT_RTT;
    if (r.compareTo(Duration.ofSeconds(10)) > 0) {
      throw usage("--rtt must be at most 10s, got " + r.toMillis() + "ms");
    }
    boolean jsonOut = json != null && json.toString().equals("-");
    checkWritable("--json", jsonOut ? null : json);
    checkWritable("--report", report);
    return new Settings(
        remote,
        key,
        model != null && !model.isBlank() ? model.trim() : "mock-model",
        r,
        serverLatency != null ? serverLatency : Duration.ZERO,
        new StrategyRun.Workload(a, c, k),
        jsonOut);
  }

  private int run(Settings s, PrintWriter out, PrintWriter err) throws Exception {
    // With --json - the JSON owns stdout; everything for people goes to stderr.
    PrintWriter say = s.jsonToStdout() ? err : out;
    Progress.Mode mode = Progress.detect(noProgress);
    StrategyRun.Workload w = s.workload();
    List<StrategyRun> runs = new ArrayList<>();
    Latencies connectTimes = new Latencies();
    try (DemoTarget target = startTarget(s)) {
      say.printf(
          Locale.ROOT,
          "llmpool demo: %d agent requests of %d chat calls each, %d at a time, made 4 ways,%n"
              + "against %s.%n",
          w.agents(),
          w.callsPerAgent(),
          w.parallel(),
          target.describe());
      if (s.remote() != null && s.apiKey() == null) {
        say.println(apiKeyEnv + " is not set: calls go without an Authorization header.");
      }
      String estimate = estimate(s);
      if (estimate != null) {
        say.println(estimate);
      }
      say.flush();

      warmUp(target, mode, err);

      for (Strategy strategy : Strategy.values()) {
        if (stop.isStopped()) {
          break;
        }
        StrategyRun run;
        measuring.countDown();
        try (Progress p =
            Progress.start(mode, err, Format.left(strategy.label, 23), w.calls(), "calls")) {
          run = StrategyRun.run(strategy, w, target, connectTimes, p, stop);
        } catch (CancellationException e) {
          break; // Ctrl-C while pre-warming
        }
        runs.add(run);
        if (run.callsMade() > 0 && run.errorCount() == run.callsMade() && !stop.isStopped()) {
          throw new DemoFailedException(
              strategy.label + ": every call failed; the first: " + run.firstError());
        }
      }
    }

    DemoResults results =
        new DemoResults(
            new DemoResults.Setup(
                s.remote() != null ? s.remote().toString() : "embedded",
                s.model(),
                s.remote() == null ? (double) s.rtt().toMillis() : null,
                s.serverLatency().toNanos() / 1e6,
                w),
            runs,
            connectTimes,
            stop.isStopped());
    lastResults = results;
    print(results, say);
    String busy = Load.busyNote();
    if (busy != null) {
      say.println(busy);
    }
    if (json != null) {
      String text = Json.pretty(results.toJson());
      if (s.jsonToStdout()) {
        out.println(text);
      } else {
        Json.write(json, text);
        say.println("JSON: " + json.toAbsolutePath());
      }
    }
    if (report != null && !runs.isEmpty()) {
      HtmlReport.write(results, report);
      say.println("Report: " + report.toAbsolutePath() + " (open it in a browser)");
    }
    return 0;
  }

  private DemoTarget startTarget(Settings s) {
    if (s.remote() != null) {
      return new DemoTarget.Remote(s.remote(), s.apiKey(), caCert, s.model());
    }
    return DemoTarget.Embedded.start(s.rtt(), s.serverLatency(), s.model());
  }

  /**
   * Warms the JVM up (class loading, JIT, the first TLS handshakes) so that the first strategy is
   * not charged for it, and proves the target answers before the measured runs: embedded, through a
   * proxy with no delay; against a real API, one call per kind of client.
   */
  private void warmUp(DemoTarget target, Progress.Mode mode, PrintWriter err)
      throws InterruptedException {
    DemoTarget warm = target instanceof DemoTarget.Embedded e ? e.warmupTwin() : target;
    StrategyRun.Workload small =
        target instanceof DemoTarget.Embedded
            ? new StrategyRun.Workload(4, 10, 4)
            : new StrategyRun.Workload(1, 1, 1);
    Strategy[] kinds = {
      Strategy.NEW_CONNECTION_PER_CALL, Strategy.POOLED_HTTP1, Strategy.POOLED_HTTP2
    };
    try (Progress p =
        Progress.start(
            mode,
            err,
            Format.left("warm-up, not measured", 23),
            (long) small.calls() * kinds.length,
            "calls")) {
      for (Strategy k : kinds) {
        if (stop.isStopped()) {
          return;
        }
        StrategyRun r = StrategyRun.run(k, small, warm, null, p, stop);
        if (r.errorCount() > 0 && !stop.isStopped()) {
          // The target does not answer as it should: one line, exit 1.
          throw new DemoFailedException(String.valueOf(r.firstError()));
        }
      }
    } finally {
      if (warm != target) {
        warm.close();
      }
    }
  }

  private void print(DemoResults r, PrintWriter say) {
    say.println();
    if (r.interrupted) {
      say.println("Interrupted: the figures so far.");
    }
    if (r.runs.isEmpty()) {
      say.flush();
      return;
    }
    say.print(r.table());
    say.println();
    say.println(r.headline());
    StrategyRun fresh = r.find(Strategy.NEW_CONNECTION_PER_CALL);
    boolean serverCounted = !r.runs.isEmpty() && r.runs.get(0).server != null;
    say.println(
        serverCounted
            ? "Connections and TLS handshakes as the server counted them"
                + (countsAgree(r)
                    ? " (the client counted the same)."
                    : "; see --json for the client's counts.")
            : "Connections and TLS handshakes as the client counted them.");
    if (fresh != null && fresh.client.waitForConnection.count() > 0) {
      say.println(breakdown(fresh));
    }
    say.println(poolHealth(r));
    if (fresh != null && fresh.clientSetup.count() > 0) {
      say.printf(
          Locale.ROOT,
          "Call latency leaves out making and closing the client for each call (medians %s and%n"
              + "%s ms), which new-connection-per-call's agent requests include.%n",
          Format.ms(fresh.clientSetup.percentileMs(50)),
          Format.ms(fresh.clientTeardown.percentileMs(50)));
    }
    for (StrategyRun run : r.runs) {
      if (run.errorCount() > 0) {
        say.println(
            run.strategy.label + " errors: " + run.errorsByKind() + "; first: " + run.firstError());
      }
    }
    say.flush();
  }

  /** Each strategy's peak pool utilization and whether the pool's utilization warning fired. */
  static String poolHealth(DemoResults r) {
    StringBuilder b = new StringBuilder("Pool peak utilization: ");
    List<String> fired = new ArrayList<>();
    for (int i = 0; i < r.runs.size(); i++) {
      StrategyRun run = r.runs.get(i);
      if (i > 0) {
        b.append(", ");
      }
      b.append(run.strategy.label)
          .append(' ')
          .append(String.format(Locale.ROOT, "%.0f%%", run.peakUtilization() * 100));
      if (run.warningFired()) {
        fired.add(run.strategy.label);
      }
    }
    b.append(
        fired.isEmpty()
            ? "; no utilization warning fired."
            : "; the utilization warning fired for " + String.join(", ", fired) + ".");
    return b.toString();
  }

  /** Where a new connection's call spent its time (medians), from llmpool's events. */
  private static String breakdown(StrategyRun fresh) {
    ConnectionCounter c = fresh.client;
    StringBuilder b = new StringBuilder("A new connection's call, at the median: set-up ");
    b.append(Format.ms(c.waitForConnection.percentileMs(50))).append(" ms (TCP and TLS ");
    double tcp = c.tcpConnect.count() > 0 ? c.tcpConnect.percentileMs(50) : 0;
    b.append(Format.ms(tcp + c.tlsHandshake.percentileMs(50))).append(" ms");
    // Over TLS llmpool hands a new HTTP/2 connection to its caller right after the handshake
    // (it does not wait for the server's SETTINGS), so this gap is local work, not a round trip.
    if (c.tlsToUsable.count() > 0 && c.tlsToUsable.percentileMs(50) >= 1) {
      b.append(", then ")
          .append(Format.ms(c.tlsToUsable.percentileMs(50)))
          .append(" ms until the connection was handed to the call");
    }
    b.append("), then the request ")
        .append(Format.ms(c.requestToHeaders.percentileMs(50)))
        .append(" ms to the response headers.");
    return b.toString();
  }

  private static boolean countsAgree(DemoResults r) {
    for (StrategyRun run : r.runs) {
      if (run.server == null
          || run.server.connections() != run.client.connects()
          || run.server.tlsHandshakes() != run.client.tlsHandshakes()) {
        return false;
      }
    }
    return true;
  }

  /** About how long the embedded run takes: 4 round trips per fresh call, 1 per pooled one. */
  private static @Nullable String estimate(Settings s) {
    if (s.remote() != null) {
      return null;
    }
    StrategyRun.Workload w = s.workload();
    long waves = ((long) w.agents() + w.concurrency() - 1) / w.concurrency();
    double rttMs = s.rtt().toMillis();
    double serverMs = s.serverLatency().toMillis();
    // A fresh client's call: TCP, TLS, HTTP/2 SETTINGS, request; plus making and closing it.
    double perCallFresh = 4 * rttMs + serverMs + 10;
    double perCallPooled = rttMs + serverMs + 1;
    double ms = waves * w.callsPerAgent() * (perCallFresh + 3 * perCallPooled) + 2000;
    return "This takes about "
        + Format.duration(ms)
        + ". Ctrl-C stops it and shows the figures so far.";
  }

  /**
   * The demo makes a pool per call on purpose (the mistake it measures), which llmpool rightly
   * warns about; the warning would only garble the progress bar. Other warnings stay on.
   */
  private static void quietManyPoolsWarning() {
    String key = "org.slf4j.simpleLogger.log.dev.llmpool.LlmPool";
    if (System.getProperty(key) == null) {
      System.setProperty(key, "error");
    }
  }

  private int positive(String flag, @Nullable Integer value, int dflt, int max) {
    int v = value == null ? dflt : value;
    if (v < 1 || v > max) {
      throw usage(flag + " must be 1.." + max + ", got " + v);
    }
    return v;
  }

  private void checkWritable(String flag, @Nullable Path file) {
    if (file == null) {
      return;
    }
    Path parent = file.toAbsolutePath().getParent();
    if (parent == null || !Files.isDirectory(parent)) {
      throw usage(flag + ": the directory of " + file + " does not exist");
    }
    if (Files.isDirectory(file)) {
      throw usage(flag + ": " + file + " is a directory");
    }
  }

  private ParameterException usage(String message) {
    return new ParameterException(spec.commandLine(), message);
  }

  /** The demo could not run: the message is the one line the user sees. */
  static final class DemoFailedException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    DemoFailedException(String message) {
      super(message);
    }
  }
}
