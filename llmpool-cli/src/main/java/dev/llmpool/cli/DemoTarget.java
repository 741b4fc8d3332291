package dev.llmpool.cli;

import dev.llmpool.EventListener;
import dev.llmpool.LlmPool;
import dev.llmpool.Origin;
import dev.llmpool.llm.RetryPolicy;
import dev.llmpool.testkit.LatencyProxy;
import dev.llmpool.testkit.MockLlmServer;
import dev.llmpool.testkit.MockServerStats;
import dev.llmpool.testkit.Reply;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import org.jspecify.annotations.Nullable;

/**
 * Where the demo's calls go: the embedded mock server behind a latency proxy, or a real API given
 * by URL. Makes the pool each strategy uses, configured as a user would configure it.
 */
abstract class DemoTarget implements AutoCloseable {

  /** The server's own counters, when the demo runs the server. */
  record ServerCounts(long connections, long tlsHandshakes, long requests) {
    ServerCounts minus(ServerCounts before) {
      return new ServerCounts(
          connections - before.connections,
          tlsHandshakes - before.tlsHandshakes,
          requests - before.requests);
    }
  }

  final Calls.ChatCall call;
  final String model;

  DemoTarget(Calls.ChatCall call, String model) {
    this.call = call;
    this.model = model;
  }

  abstract URI baseUrl();

  /** One line: what the calls go to. */
  abstract String describe();

  /** The round trip time the proxy adds, or null against a real API. */
  abstract @Nullable Duration simulatedRtt();

  /** The server's counters now, or null when the server is not ours. */
  abstract @Nullable ServerCounts serverCounts();

  /** Trust and credentials. */
  abstract void configure(LlmPool.Builder b);

  /**
   * A pool builder for {@code strategy}: the library's defaults (a user's first try), with HTTP/2
   * off for {@link Strategy#POOLED_HTTP1}, and h2c prior knowledge for HTTP/2 strategies on a
   * plain-text URL.
   */
  LlmPool.Builder poolBuilder(Strategy strategy, EventListener listener) {
    // No re-sent calls: each call the demo times is one exchange, and a failure shows as one.
    LlmPool.Builder b =
        LlmPool.builder().baseUrl(baseUrl()).eventListener(listener).retryPolicy(RetryPolicy.NONE);
    configure(b);
    if (!strategy.http2()) {
      b.http2(false);
    } else if (strategy.pooled() && !Origin.of(baseUrl()).isTls()) {
      b.h2cPriorKnowledge(Origin.of(baseUrl()).toString());
    }
    return b;
  }

  @Override
  public abstract void close();

  /** The testkit's mock LLM server (TLS, ALPN h2 and http/1.1) behind a {@link LatencyProxy}. */
  static final class Embedded extends DemoTarget {
    private final MockLlmServer server;
    private final LatencyProxy proxy;
    private final Duration rtt;
    private final Duration serverLatency;
    private final boolean ownsServer;

    private Embedded(
        MockLlmServer server,
        LatencyProxy proxy,
        Duration rtt,
        Duration serverLatency,
        boolean ownsServer,
        Calls.ChatCall call,
        String model) {
      super(call, model);
      this.server = server;
      this.proxy = proxy;
      this.rtt = rtt;
      this.serverLatency = serverLatency;
      this.ownsServer = ownsServer;
    }

    static Embedded start(Duration rtt, Duration serverLatency, String model) {
      Reply.Builder reply = Reply.builder();
      if (!serverLatency.isZero()) {
        reply.headersDelay(serverLatency);
      }
      MockLlmServer server =
          MockLlmServer.builder()
              .tls(true)
              .defaultReply(reply.build())
              .requestLogLimit(100) // counters are what the demo reads; keep memory flat
              .start();
      try {
        LatencyProxy proxy = LatencyProxy.builder().target(server.port()).rtt(rtt).start();
        return new Embedded(
            server, proxy, rtt, serverLatency, true, Calls.openAiChat(model, null), model);
      } catch (RuntimeException e) {
        server.close();
        throw e;
      }
    }

    /**
     * The same server behind a proxy with no delay, for warming the JVM up (class loading, JIT, the
     * first TLS handshakes) without paying the round trips.
     */
    Embedded warmupTwin() {
      LatencyProxy fast =
          LatencyProxy.builder()
              .target(server.port())
              .rtt(Duration.ZERO)
              .handshakeRoundTrip(false)
              .start();
      return new Embedded(server, fast, Duration.ZERO, Duration.ZERO, false, call, model);
    }

    @Override
    URI baseUrl() {
      return URI.create(proxy.baseUrl("https") + "/v1");
    }

    @Override
    String describe() {
      return "an embedded mock LLM server (TLS, ALPN h2 and http/1.1"
          + (serverLatency.isZero() ? "" : ", " + serverLatency.toMillis() + " ms per reply")
          + ") behind a latency proxy adding a "
          + rtt.toMillis()
          + " ms round trip";
    }

    @Override
    @Nullable Duration simulatedRtt() {
      return rtt;
    }

    @Override
    ServerCounts serverCounts() {
      MockServerStats s = server.stats();
      return new ServerCounts(
          s.connectionsAccepted(), s.tlsHandshakesCompleted(), s.requestsServed());
    }

    @Override
    void configure(LlmPool.Builder b) {
      b.trustManager(server.certificate().trustManager()).bearerToken("llmpool-demo");
    }

    @Override
    public void close() {
      proxy.close();
      if (ownsServer) {
        server.close();
      }
    }
  }

  /** A real API (or any OpenAI-compatible server) given by URL; no simulated round trip. */
  static final class Remote extends DemoTarget {
    private final URI baseUrl;
    private final @Nullable String apiKey;
    private final @Nullable Path caCert;

    Remote(URI baseUrl, @Nullable String apiKey, @Nullable Path caCert, String model) {
      super(Calls.openAiChat(model, apiKey), model);
      this.baseUrl = baseUrl;
      this.apiKey = apiKey;
      this.caCert = caCert;
    }

    @Override
    URI baseUrl() {
      return baseUrl;
    }

    @Override
    String describe() {
      return Origin.of(baseUrl) + " (model " + model + ", no simulated round trip)";
    }

    @Override
    @Nullable Duration simulatedRtt() {
      return null;
    }

    @Override
    @Nullable ServerCounts serverCounts() {
      return null;
    }

    @Override
    void configure(LlmPool.Builder b) {
      if (apiKey != null) {
        b.bearerToken(apiKey);
      }
      if (caCert != null) {
        b.trustedCertificates(caCert);
      }
    }

    @Override
    public void close() {}
  }
}
