package dev.llmpool.cli;

import dev.llmpool.Limits;
import dev.llmpool.LlmPool;
import dev.llmpool.Origin;
import dev.llmpool.PoolWarnings;
import dev.llmpool.Timeouts;
import dev.llmpool.http.HttpHeaders;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CancellationException;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code llmpool bench}: a load generator for any OpenAI-compatible endpoint, over one {@link
 * LlmPool}. Closed-loop by default ({@code --concurrency} workers, each sending its next request
 * when the last one ended); open-loop with {@code --rate} (arrivals on a fixed schedule whatever
 * the server does, latency measured from each request's intended start, so a stalling server cannot
 * hide behind a slowed-down load generator).
 */
@Command(
    name = "bench",
    mixinStandardHelpOptions = true,
    sortOptions = false,
    description = {
      "Load-test an OpenAI-compatible endpoint through one llmpool pool. Closed-loop at",
      "--concurrency by default; open-loop at --rate requests per second (latency counted",
      "from each request's scheduled start). Every request is accounted for: succeeded, or",
      "failed and counted by kind. Ctrl-C stops it and shows the figures so far."
    })
final class BenchCommand implements Callable<Integer> {

  @SuppressWarnings("NullAway.Init") // injected by picocli before call()
  @Spec
  CommandSpec spec;

  @Option(
      names = "--url",
      required = true,
      paramLabel = "URL",
      description = "Where to POST, like https://api.openai.com/v1/chat/completions.")
  String url = "";

  @ArgGroup(exclusive = true)
  @Nullable Protocol protocol;

  static final class Protocol {
    @Option(names = "--http1", description = "HTTP/1.1 only.")
    boolean http1;

    @Option(
        names = "--http2",
        description = "HTTP/2: by ALPN over TLS, with prior knowledge (h2c) over http://.")
    boolean http2;
  }

  @Option(
      names = "--concurrency",
      paramLabel = "N",
      defaultValue = "16",
      description = "Closed-loop: requests in flight at once (default: ${DEFAULT-VALUE}).")
  int concurrency;

  @ArgGroup(exclusive = true)
  @Nullable Amount amount;

  static final class Amount {
    @Option(names = "--requests", paramLabel = "N", description = "Send N requests.")
    @Nullable Long requests;

    @Option(
        names = "--duration",
        paramLabel = "DURATION",
        converter = DurationConverter.class,
        description = "Send requests for this long, like 30s (the default).")
    @Nullable Duration duration;
  }

  @Option(
      names = "--rate",
      paramLabel = "R",
      description = "Open-loop: start R requests per second on a fixed schedule.")
  @Nullable Double rate;

  @Option(names = "--max-connections", paramLabel = "N", description = "limits.maxConnections.")
  @Nullable Integer maxConnections;

  @Option(names = "--max-per-host", paramLabel = "N", description = "limits.maxConnectionsPerHost.")
  @Nullable Integer maxPerHost;

  @Option(names = "--max-idle", paramLabel = "N", description = "limits.maxIdleConnections.")
  @Nullable Integer maxIdle;

  @Option(
      names = "--keep-alive-expiry",
      paramLabel = "DURATION",
      converter = DurationConverter.class,
      description = "limits.keepAliveExpiry.")
  @Nullable Duration keepAliveExpiry;

  @Option(
      names = "--pool-timeout",
      paramLabel = "DURATION",
      converter = DurationConverter.class,
      description = "timeouts.pool: the longest wait for a connection.")
  @Nullable Duration poolTimeout;

  @Option(
      names = "--timeout",
      paramLabel = "DURATION",
      converter = DurationConverter.class,
      description = "timeouts.total: the longest a request may take.")
  @Nullable Duration timeout;

  @Option(
      names = "--warn-above",
      paramLabel = "FRACTION",
      description =
          "warnings.utilizationThreshold: the utilization (0..1] that, sustained, logs the"
              + " pool's warning (default: 0.8).")
  @Nullable Double warnAbove;

  @Option(
      names = "--warn-after",
      paramLabel = "DURATION",
      converter = DurationConverter.class,
      description =
          "warnings.sustainedFor: how long utilization must stay above --warn-above before the"
              + " pool warns (default: 10s).")
  @Nullable Duration warnAfter;

  @Option(
      names = "--cacert",
      paramLabel = "FILE",
      description = "Trust the certificates in this PEM file.")
  @Nullable Path caCert;

  @Option(
      names = {"--header", "-H"},
      paramLabel = "'K: V'",
      description = "A request header; repeatable.")
  List<String> headers = new ArrayList<>();

  @Option(
      names = "--body",
      paramLabel = "FILE",
      description = "The request body (JSON); default: a small chat request.")
  @Nullable Path body;

  @Option(
      names = "--model",
      paramLabel = "NAME",
      defaultValue = "gpt-4o-mini",
      description = "The default body's model (default: ${DEFAULT-VALUE}).")
  String model = "gpt-4o-mini";

  @Option(
      names = "--stream",
      description = "Ask for a streamed answer (SSE) and read it as it arrives; adds ttfb_ms.")
  boolean stream;

  @Option(
      names = "--json",
      paramLabel = "FILE",
      description = "Also write the summary as JSON to FILE ('-' for stdout).")
  @Nullable Path json;

  @Option(names = "--no-progress", description = "No progress bar or progress lines.")
  boolean noProgress;

  /** Ctrl-C, or a test. */
  final StopSignal stop = new StopSignal("bench");

  /** The result of the last run (tests). */
  volatile @Nullable BenchRun lastRun;

  @Override
  public Integer call() throws Exception {
    BenchRun.Plan plan = plan();
    LlmPool.Builder pool = poolBuilder();
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    boolean jsonOut = json != null && json.toString().equals("-");
    PrintWriter say = jsonOut ? err : out;
    stop.install();
    try {
      say.println(plan.describe());
      say.flush();
      BenchRun run;
      try {
        run = BenchRun.run(plan, pool, Progress.detect(noProgress), err, stop);
      } catch (CancellationException e) {
        say.println("Interrupted before the first request.");
        return 0;
      }
      lastRun = run;
      say.println();
      say.print(run.summary());
      String busy = Load.busyNote();
      if (busy != null) {
        say.println(busy);
      }
      if (json != null) {
        String text = Json.pretty(run.toJson());
        if (jsonOut) {
          out.println(text);
        } else {
          Json.write(json, text);
          say.println("JSON: " + json.toAbsolutePath());
        }
      }
      say.flush();
      if (run.issued() > 0 && run.succeeded() == 0 && !run.interrupted()) {
        throw new DemoCommand.DemoFailedException(
            "every request failed; the first: " + run.firstError());
      }
      return 0;
    } finally {
      out.flush();
      err.flush();
      stop.close();
    }
  }

  private BenchRun.Plan plan() {
    URI target;
    try {
      target = URI.create(url.trim());
      LlmPool.builder().baseUrl(originOf(target)); // scheme and host checks
    } catch (IllegalArgumentException e) {
      throw usage("--url '" + url + "' is not usable: " + e.getMessage());
    }
    if (concurrency < 1 || concurrency > 100_000) {
      throw usage("--concurrency must be 1..100000, got " + concurrency);
    }
    Long requests = amount == null ? null : amount.requests;
    Duration duration = amount == null ? null : amount.duration;
    if (requests != null && (requests < 1 || requests > 1_000_000_000L)) {
      throw usage("--requests must be 1..1000000000, got " + requests);
    }
    if (duration != null && duration.isZero()) {
      throw usage("--duration must be positive");
    }
    if (requests == null && duration == null) {
      duration = Duration.ofSeconds(30);
    }
    if (rate != null && (!(rate > 0) || rate > 1_000_000 || rate.isInfinite())) {
      throw usage("--rate must be a number of requests per second above 0, got " + rate);
    }
    Map<String, String> hs = new LinkedHashMap<>();
    for (String h : headers) {
      int colon = h.indexOf(':');
      if (colon <= 0) {
        throw usage("--header must look like 'Name: value', got '" + h + "'");
      }
      String name = h.substring(0, colon).trim();
      String value = h.substring(colon + 1).trim();
      try {
        HttpHeaders.of(name, value);
      } catch (IllegalArgumentException e) {
        throw usage("--header '" + name + "': " + e.getMessage());
      }
      hs.put(name, value);
    }
    boolean hasAuth = hs.keySet().stream().anyMatch(k -> k.equalsIgnoreCase("authorization"));
    String key = System.getenv("OPENAI_API_KEY");
    if (!hasAuth && key != null && !key.isBlank()) {
      hs.put("Authorization", "Bearer " + key.trim());
    }
    String payload;
    if (body != null) {
      try {
        payload = Files.readString(body, StandardCharsets.UTF_8);
      } catch (IOException e) {
        throw usage("--body: cannot read " + body + ": " + e.getMessage());
      }
    } else {
      payload = BenchRun.defaultBody(model, stream);
    }
    if (json != null && !json.toString().equals("-")) {
      Path parent = json.toAbsolutePath().getParent();
      if (parent == null || !Files.isDirectory(parent)) {
        throw usage("--json: the directory of " + json + " does not exist");
      }
    }
    return new BenchRun.Plan(
        target, concurrency, requests, duration, rate, hs, payload, stream, body == null);
  }

  private LlmPool.Builder poolBuilder() {
    URI target = URI.create(url.trim());
    LlmPool.Builder b = LlmPool.builder().baseUrl(originOf(target));
    try {
      Limits.Builder l = Limits.builder();
      if (maxConnections != null) {
        l.maxConnections(maxConnections);
      }
      if (maxPerHost != null) {
        l.maxConnectionsPerHost(maxPerHost);
      }
      if (maxIdle != null) {
        l.maxIdleConnections(maxIdle);
      }
      if (keepAliveExpiry != null) {
        l.keepAliveExpiry(keepAliveExpiry);
      }
      b.limits(l.build());
      Timeouts.Builder t = Timeouts.builder();
      if (poolTimeout != null) {
        t.pool(poolTimeout);
      }
      if (timeout != null) {
        t.total(timeout);
      }
      b.timeouts(t.build());
      PoolWarnings.Builder w = PoolWarnings.builder();
      if (warnAbove != null) {
        if (!(warnAbove > 0 && warnAbove <= 1)) {
          throw usage("--warn-above must be a fraction in (0, 1], got " + warnAbove);
        }
        w.utilizationThreshold(warnAbove).rearmBelow(Math.min(0.6, warnAbove * 0.75));
      }
      if (warnAfter != null) {
        w.sustainedFor(warnAfter);
      }
      b.warnings(w.build());
    } catch (IllegalArgumentException e) {
      throw usage(String.valueOf(e.getMessage()));
    }
    Origin origin = Origin.of(target);
    if (protocol != null && protocol.http1) {
      b.http2(false);
    } else if (protocol != null && protocol.http2 && !origin.isTls()) {
      b.h2cPriorKnowledge(origin.toString());
    }
    if (caCert != null) {
      if (!Files.isReadable(caCert)) {
        throw usage("--cacert: cannot read " + caCert);
      }
      b.trustedCertificates(caCert);
    }
    return b;
  }

  /** {@code scheme://host:port} of a URL, for the pool's base URL. */
  private static URI originOf(URI u) {
    if (u.getScheme() == null || u.getHost() == null) {
      throw new IllegalArgumentException("it needs a scheme and a host, like https://host/path");
    }
    if (u.getRawUserInfo() != null) {
      throw new IllegalArgumentException("credentials in the URL are not allowed; use --header");
    }
    return URI.create(Origin.of(u).toString());
  }

  private ParameterException usage(String message) {
    return new ParameterException(spec.commandLine(), message);
  }
}
