package dev.llmpool.cli;

import dev.llmpool.testkit.LatencyProxy;
import dev.llmpool.testkit.MockLlmServer;
import dev.llmpool.testkit.MockServerStats;
import dev.llmpool.testkit.Reply;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code llmpool mock}: the testkit's mock LLM server on a port, until interrupted. Ctrl-C closes
 * the server (and the latency proxy) cleanly and prints what it served.
 */
@Command(
    name = "mock",
    mixinStandardHelpOptions = true,
    description = {
      "Run a mock LLM server on 127.0.0.1 until interrupted (Ctrl-C stops it):",
      "POST /v1/chat/completions (OpenAI), POST /v1/messages (Anthropic) and",
      "GET /v1/models, in JSON or SSE, over HTTP/1.1, h2c with prior knowledge,",
      "or TLS with ALPN h2 and http/1.1. A request can ask for a fault with the",
      "header x-mock-fault, e.g. 'x-mock-fault: 429' (see docs/testkit.md)."
    })
final class MockCommand implements Callable<Integer> {

  @SuppressWarnings("NullAway.Init") // injected by picocli before call()
  @Spec
  CommandSpec spec;

  @Option(
      names = "--port",
      defaultValue = "8080",
      description = "Port on 127.0.0.1; 0 for a free one (default: ${DEFAULT-VALUE}).")
  int port;

  @Option(names = "--tls", description = "Serve TLS on a self-signed certificate made at start.")
  boolean tls;

  @Option(
      names = "--cert-out",
      paramLabel = "FILE",
      description = "With --tls: write the certificate (PEM) here, for curl --cacert.")
  @Nullable Path certOut;

  @Option(names = "--http1-only", description = "Speak HTTP/1.1 only (no h2c, ALPN http/1.1).")
  boolean http1Only;

  @Option(
      names = "--latency",
      paramLabel = "DURATION",
      converter = DurationConverter.class,
      description = "Wait before the response headers, like 200ms (default: none).")
  @Nullable Duration latency;

  @Option(
      names = "--tokens-per-second",
      paramLabel = "N",
      description =
          "Streaming pace; a JSON reply waits for the whole generation (default: as fast as possible).")
  double tokensPerSecond;

  @Option(
      names = "--close-idle-after",
      paramLabel = "DURATION",
      converter = DurationConverter.class,
      description = "Close connections idle this long, without warning, like 5s.")
  @Nullable Duration closeIdleAfter;

  @Option(
      names = "--max-requests-per-connection",
      paramLabel = "N",
      description =
          "HTTP/1.1: Connection: close on the N-th response. HTTP/2: GOAWAY after N streams.")
  int maxRequestsPerConnection;

  @Option(
      names = "--max-concurrent-streams",
      paramLabel = "N",
      defaultValue = "100",
      description = "HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS (default: ${DEFAULT-VALUE}).")
  int maxConcurrentStreams;

  @Option(
      names = "--rtt",
      paramLabel = "DURATION",
      converter = DurationConverter.class,
      description = "Listen behind a latency proxy adding this round trip time, like 50ms.")
  @Nullable Duration rtt;

  /** Counted down by Ctrl-C (the shutdown hook) or by a test. */
  final CountDownLatch stop = new CountDownLatch(1);

  /** Completed with the URL once the server listens (for tests). */
  final CompletableFuture<URI> started = new CompletableFuture<>();

  @Override
  public Integer call() throws Exception {
    MockLlmServer.Builder builder = builder();
    CountDownLatch cleanedUp = new CountDownLatch(1);
    Thread hook =
        new Thread(
            () -> {
              stop.countDown();
              try {
                cleanedUp.await(10, TimeUnit.SECONDS); // let the main thread close and report
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              }
            },
            "llmpool-mock-shutdown");
    Runtime.getRuntime().addShutdownHook(hook);
    PrintWriter out = spec.commandLine().getOut();
    MockServerStats stats;
    try (MockLlmServer server = builder.start();
        LatencyProxy proxy = rtt == null ? null : startProxy(server, rtt)) {
      String scheme = tls ? "https" : "http";
      URI url = proxy != null ? proxy.baseUrl(scheme) : server.baseUrl();
      announce(out, server, proxy, url);
      started.complete(url);
      stop.await();
      stats = server.stats();
    } catch (RuntimeException e) {
      started.completeExceptionally(e);
      throw e;
    } finally {
      cleanedUp.countDown();
      try {
        Runtime.getRuntime().removeShutdownHook(hook);
      } catch (IllegalStateException e) {
        // Already shutting down (Ctrl-C): the hook is running.
      }
    }
    out.printf(
        Locale.ROOT,
        "llmpool mock: stopped after %d requests on %d connections (%d TLS handshakes),"
            + " %d bytes in, %d bytes out.%n",
        stats.requestsServed(),
        stats.connectionsAccepted(),
        stats.tlsHandshakesCompleted(),
        stats.bytesIn(),
        stats.bytesOut());
    out.flush();
    return 0;
  }

  private MockLlmServer.Builder builder() {
    if (certOut != null && !tls) {
      throw new ParameterException(spec.commandLine(), "--cert-out needs --tls");
    }
    if (tokensPerSecond < 0
        || Double.isNaN(tokensPerSecond)
        || Double.isInfinite(tokensPerSecond)) {
      throw new ParameterException(
          spec.commandLine(), "--tokens-per-second must be a number >= 0: " + tokensPerSecond);
    }
    try {
      Reply.Builder reply = Reply.builder().tokensPerSecond(tokensPerSecond);
      if (latency != null) {
        reply.headersDelay(latency);
      }
      MockLlmServer.Builder b =
          MockLlmServer.builder()
              .port(rtt != null ? 0 : port)
              .tls(tls)
              .http1Only(http1Only)
              .defaultReply(reply.build())
              .closeIdleAfter(closeIdleAfter)
              .maxRequestsPerConnection(maxRequestsPerConnection)
              .maxConcurrentStreams(maxConcurrentStreams)
              .requestLogLimit(1_000); // runs for hours: keep memory bounded
      b.build(); // checks every value now, so a bad one is a usage error
      return b;
    } catch (IllegalArgumentException e) {
      throw new ParameterException(spec.commandLine(), e.getMessage(), e);
    }
  }

  private LatencyProxy startProxy(MockLlmServer server, Duration rtt) {
    return LatencyProxy.builder().target(server.port()).port(port).rtt(rtt).start();
  }

  private void announce(
      PrintWriter out, MockLlmServer server, @Nullable LatencyProxy proxy, URI url)
      throws IOException {
    String protocols =
        http1Only
            ? "HTTP/1.1"
            : tls ? "ALPN h2 and http/1.1" : "HTTP/1.1 and h2c with prior knowledge";
    out.printf(Locale.ROOT, "llmpool mock: listening on %s (%s)%n", url, protocols);
    out.printf(Locale.ROOT, "  OpenAI:      POST %s/v1/chat/completions%n", url);
    out.printf(Locale.ROOT, "  Anthropic:   POST %s/v1/messages%n", url);
    if (tls) {
      Path cert = server.certificate().pemFile();
      Path target = certOut;
      if (target != null) {
        try {
          Files.writeString(target, server.certificate().pem(), StandardCharsets.US_ASCII);
        } catch (IOException e) {
          throw new UncheckedIOException("cannot write " + target + ": " + e.getMessage(), e);
        }
        cert = target.toAbsolutePath();
      }
      out.printf(Locale.ROOT, "  certificate: %s (curl --cacert %s)%n", cert, cert);
    }
    if (proxy != null) {
      out.printf(
          Locale.ROOT,
          "  latency:     RTT %s through a proxy; the server itself is on %s%n",
          proxy.rtt().toMillis() + "ms",
          server.baseUrl());
    }
    out.printf(
        Locale.ROOT,
        "Try: curl -s %s%s/v1/chat/completions -H 'Authorization: Bearer x' -d"
            + " '{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}'%n",
        tls ? "--cacert " + (certOut != null ? certOut : server.certificate().pemFile()) + " " : "",
        url);
    out.println("Press Ctrl-C to stop.");
    out.flush();
  }
}
