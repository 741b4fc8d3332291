package dev.llmpool.testkit;

import dev.llmpool.testkit.internal.SelfSignedCertificates;
import dev.llmpool.testkit.internal.Transports;
import dev.llmpool.testkit.internal.Transports.Transport;
import dev.llmpool.testkit.internal.WallClock;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.handler.codec.http2.Http2SecurityUtil;
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.netty.handler.ssl.SupportedCipherSuiteFilter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.jspecify.annotations.Nullable;

/**
 * An embedded mock LLM server on 127.0.0.1: OpenAI-compatible {@code POST /v1/chat/completions},
 * Anthropic-compatible {@code POST /v1/messages} and {@code GET /v1/models}, in JSON or SSE, over
 * HTTP/1.1 keep-alive, h2c with prior knowledge, or TLS with ALPN ({@code h2}, {@code http/1.1}) on
 * a certificate made at start. It misbehaves on demand and counts what happens.
 *
 * <pre>{@code
 * try (MockLlmServer server = MockLlmServer.builder().tls(true).build().start()) {
 *   server.enqueue(Reply.error(503));                 // the first request fails
 *   HttpClient client = HttpClient.newBuilder().sslContext(server.certificate().sslContext()).build();
 *   ... client.send(POST server.url("/v1/chat/completions") ...)
 *   assertThat(server.takeRequest().prompt()).isEqualTo("hi");
 *   assertThat(server.stats().connectionsAccepted()).isEqualTo(1);
 * }
 * }</pre>
 *
 * <p><b>Replies.</b> Each request's {@link Reply} comes from, in order: its {@code x-mock-fault}
 * header; the queue ({@link #enqueue}); the first {@linkplain Builder#rule rule} whose predicate
 * matches; the default reply, which the {@linkplain Builder#failureRate seeded failure rate}
 * replaces by its failure reply for that share of requests. Requests are validated first (path,
 * auth, JSON, model, messages) and a bad one is answered with the provider's error body (400, 401,
 * 404, 413, 431) without taking a reply.
 *
 * <p><b>Connections.</b> {@linkplain Builder#closeIdleAfter Idle connections} and connections past
 * {@linkplain Builder#maxRequestsPerConnection their request limit} are closed; HTTP/2 announces
 * {@linkplain Builder#maxConcurrentStreams a stream limit}.
 *
 * <p>Threading: thread-safe. Network work runs on a small Netty event-loop group (epoll when
 * available) that {@link #close()} shuts down, leaving no thread behind. Many servers can run in
 * one JVM, each on its own free port.
 */
public final class MockLlmServer implements AutoCloseable {
  private static final String HOST = "127.0.0.1";
  private static final Duration TAKE_TIMEOUT = Duration.ofSeconds(30);

  private final ServerConfig config;
  private final ServerCore core;

  /**
   * Every connection accepted and not yet closed, from the moment of accept (before its handlers
   * are set up), so that {@link #close()} can close each one.
   */
  private final Set<Channel> children = ConcurrentHashMap.newKeySet();

  private final Object lifecycle = new Object();
  // Guarded by lifecycle.
  private boolean started;
  private boolean closed;
  private @Nullable EventLoopGroup group;
  private @Nullable Channel listener;
  private @Nullable TestCertificate certificate;
  private volatile int port = -1;

  private MockLlmServer(ServerConfig config) {
    this.config = config;
    byte[] prefix = new byte[8];
    new SecureRandom().nextBytes(prefix);
    StringBuilder hex = new StringBuilder();
    for (byte b : prefix) {
      hex.append(String.format(Locale.ROOT, "%02x", b));
    }
    this.core = new ServerCore(config, hex.toString());
  }

  /** A builder with the defaults: cleartext HTTP/1.1 and h2c on a free port, echo replies. */
  public static Builder builder() {
    return new Builder();
  }

  /** A builder holding this server's settings, to start another like it. */
  public Builder toBuilder() {
    return new Builder(config);
  }

  /**
   * Binds 127.0.0.1 and starts serving; with TLS, first makes the certificate.
   *
   * @return this server
   * @throws UncheckedIOException when the port cannot be bound (naming the address)
   * @throws IllegalStateException when already started or closed
   */
  public MockLlmServer start() {
    synchronized (lifecycle) {
      if (started || closed) {
        throw new IllegalStateException(closed ? "closed" : "already started");
      }
      started = true;
      SslContext ssl = null;
      try {
        if (config.tls()) {
          TestCertificate cert = makeCertificate();
          certificate = cert;
          ssl = sslContext(cert);
        }
        EventLoopGroup g = config.transport().newGroup(config.eventLoopThreads(), "llmpool-mock");
        group = g;
        ServerBootstrap bootstrap =
            new ServerBootstrap()
                .group(g)
                .channel(config.transport().serverChannel())
                .option(ChannelOption.SO_BACKLOG, 1024)
                .handler(new ChildTracker(children))
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childHandler(new ServerInitializer(core, ssl));
        Channel ch = Transports.bind(bootstrap, config.port());
        listener = ch;
        port = Transports.port(ch);
        return this;
      } catch (RuntimeException e) {
        shutdown();
        throw e;
      }
    }
  }

  private TestCertificate makeCertificate() {
    SelfSignedCertificates.Generated g = SelfSignedCertificates.generate(config.clock().instant());
    String pem = SelfSignedCertificates.pem(g.certificate());
    try {
      Path file = Files.createTempFile("llmpool-testkit-", ".pem");
      Files.writeString(file, pem, StandardCharsets.US_ASCII);
      return new TestCertificate(g.certificate(), g.privateKey(), pem, file);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write the certificate's PEM file: " + e, e);
    }
  }

  private SslContext sslContext(TestCertificate cert) {
    List<String> alpn =
        config.http1Only()
            ? List.of(ApplicationProtocolNames.HTTP_1_1)
            : List.of(ApplicationProtocolNames.HTTP_2, ApplicationProtocolNames.HTTP_1_1);
    try {
      return SslContextBuilder.forServer(cert.privateKey(), cert.certificate())
          .sslProvider(SslProvider.JDK) // no native library needed; the same on every platform
          .protocols("TLSv1.3", "TLSv1.2")
          .ciphers(Http2SecurityUtil.CIPHERS, SupportedCipherSuiteFilter.INSTANCE)
          .applicationProtocolConfig(
              new ApplicationProtocolConfig(
                  ApplicationProtocolConfig.Protocol.ALPN,
                  ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
                  ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT,
                  alpn))
          .build();
    } catch (javax.net.ssl.SSLException e) {
      throw new IllegalStateException("cannot set up TLS: " + e, e);
    }
  }

  /**
   * Closes every connection, stops the event loops and waits for their threads, and deletes the
   * certificate's PEM file. Idempotent.
   */
  @Override
  public void close() {
    synchronized (lifecycle) {
      if (closed) {
        return;
      }
      closed = true;
      shutdown();
    }
  }

  /**
   * Stops accepting, closes every accepted connection at once (a TCP FIN, or a reset when unread
   * bytes remain: no GOAWAY, no TLS close_notify, no wait for streams), waits for them to close,
   * then stops the event loops. To its clients the server has vanished: each sees its connection
   * end, none is left open with nobody reading it.
   */
  private void shutdown() {
    Channel ch = listener;
    if (ch != null) {
      ch.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
    }
    for (Channel c : children) {
      // Those accepted but not set up yet too. Closing from the head skips every handler's own
      // graceful close (GOAWAY, close_notify).
      try {
        c.eventLoop().execute(() -> c.unsafe().close(c.unsafe().voidPromise()));
      } catch (RejectedExecutionException e) {
        c.unsafe().closeForcibly(); // its loop is stopping already
      }
    }
    for (Channel c : children) {
      c.closeFuture().awaitUninterruptibly(2, TimeUnit.SECONDS);
    }
    Transports.stop(null, group);
    for (Channel c : children) {
      // A loop that could not stop in time: its channels are closed from here.
      c.unsafe().closeForcibly();
    }
    children.clear();
    TestCertificate cert = certificate;
    if (cert != null) {
      try {
        Files.deleteIfExists(cert.pemFile());
      } catch (IOException e) {
        // A temporary file we could not delete: nothing a caller could do about it.
      }
    }
  }

  /** Records each accepted connection until it closes; on the listening channel's pipeline. */
  @ChannelHandler.Sharable
  private static final class ChildTracker extends ChannelInboundHandlerAdapter {
    private final Set<Channel> children;

    ChildTracker(Set<Channel> children) {
      this.children = children;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (msg instanceof Channel child) {
        children.add(child);
        child.closeFuture().addListener(f -> children.remove(child));
      }
      ctx.fireChannelRead(msg);
    }
  }

  /** The port it listens on. */
  public int port() {
    int p = port;
    if (p < 0) {
      throw new IllegalStateException("not started");
    }
    return p;
  }

  /** {@code http://127.0.0.1:PORT} or {@code https://127.0.0.1:PORT} (no trailing slash). */
  public URI baseUrl() {
    return URI.create((config.tls() ? "https" : "http") + "://" + HOST + ":" + port());
  }

  /** The base URL with this path, such as {@code url("/v1/chat/completions")}. */
  public URI url(String path) {
    return URI.create(baseUrl() + (path.startsWith("/") ? path : "/" + path));
  }

  /** Whether it serves TLS. */
  public boolean tls() {
    return config.tls();
  }

  /**
   * The TLS certificate to trust.
   *
   * @throws IllegalStateException when the server is not TLS or not started
   */
  public TestCertificate certificate() {
    synchronized (lifecycle) {
      TestCertificate c = certificate;
      if (c == null) {
        throw new IllegalStateException(config.tls() ? "not started" : "not a TLS server");
      }
      return c;
    }
  }

  /** Queues replies for the next requests, in order; they come before rules and the default. */
  public void enqueue(Reply... replies) {
    for (Reply r : replies) {
      core.selector.enqueue(Objects.requireNonNull(r, "reply"));
    }
  }

  /** Replies still queued. */
  public int queuedReplies() {
    return core.selector.queued();
  }

  /**
   * The next request not taken yet, in the order the server read them; waits up to 30 seconds.
   *
   * @throws IllegalStateException when none arrives in time
   */
  public RecordedRequest takeRequest() {
    RecordedRequest r = pollRequest(TAKE_TIMEOUT);
    if (r == null) {
      throw new IllegalStateException("no request reached the mock server within " + TAKE_TIMEOUT);
    }
    return r;
  }

  /** The next request not taken yet, or null when none arrives within {@code timeout}. */
  public @Nullable RecordedRequest pollRequest(Duration timeout) {
    try {
      return core.poll(timeout);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return null;
    }
  }

  /** Every request read so far, oldest first (the {@linkplain Builder#requestLogLimit last N}). */
  public List<RecordedRequest> requests() {
    return core.requests();
  }

  /** Requests read so far. */
  public long requestCount() {
    return stats().requestsServed();
  }

  /** The counters now. */
  public MockServerStats stats() {
    return core.stats();
  }

  /**
   * Waits until the stats meet a condition (re-checked on every connection, handshake and request
   * event, and at least every 20 ms) and returns them.
   *
   * @throws IllegalStateException naming the last stats when the condition is not met in time
   */
  public MockServerStats awaitStats(Predicate<MockServerStats> condition, Duration timeout) {
    try {
      return core.awaitStats(condition, timeout);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while waiting for the mock server's stats", e);
    }
  }

  @Override
  public String toString() {
    int p = port;
    return "MockLlmServer{"
        + (p < 0 ? "not started" : baseUrl().toString())
        + (config.http1Only() ? ", http/1.1 only" : "")
        + "}";
  }

  /**
   * Settings of a {@link MockLlmServer}; {@link #build()} checks them. Every setting has a default
   * fit for a unit test.
   */
  public static final class Builder {
    private int port;
    private boolean tls;
    private boolean http1Only;
    private Reply defaultReply = Reply.echo();
    private final List<ServerConfig.Rule> rules = new ArrayList<>();
    private double failureRate;
    private long failureSeed;
    private @Nullable Reply failureReply;
    private @Nullable Duration closeIdleAfter;
    private int maxRequestsPerConnection;
    private int maxConcurrentStreams = 100;
    private int maxRequestBodyBytes = 32 * 1024 * 1024;
    private int maxHeaderBytes = 16 * 1024;
    private @Nullable String apiKey;
    private List<String> models = List.of();
    private long requestsPerMinute = 10_000;
    private long tokensPerMinute = 2_000_000;
    private @Nullable Clock clock;
    private int eventLoopThreads = 1;
    private int requestLogLimit = Integer.MAX_VALUE;
    private Transport transport = Transports.select(true);

    private Builder() {}

    private Builder(ServerConfig c) {
      this.port = c.port();
      this.tls = c.tls();
      this.http1Only = c.http1Only();
      this.defaultReply = c.defaultReply();
      this.rules.addAll(c.rules());
      this.failureRate = c.failureRate();
      this.failureSeed = c.failureSeed();
      this.failureReply = c.failureReply();
      this.closeIdleAfter = c.closeIdleAfter();
      this.maxRequestsPerConnection = c.maxRequestsPerConnection();
      this.maxConcurrentStreams = c.maxConcurrentStreams();
      this.maxRequestBodyBytes = c.maxRequestBodyBytes();
      this.maxHeaderBytes = c.maxHeaderBytes();
      this.apiKey = c.apiKey();
      this.models = c.models();
      this.requestsPerMinute = c.requestsPerMinute();
      this.tokensPerMinute = c.tokensPerMinute();
      this.clock = c.clock();
      this.eventLoopThreads = c.eventLoopThreads();
      this.requestLogLimit = c.requestLogLimit();
      this.transport = c.transport();
    }

    /** The port to listen on; 0 (the default) for a free one. */
    public Builder port(int port) {
      this.port = port;
      return this;
    }

    /** TLS with ALPN on a self-signed certificate made at start. Default false (cleartext). */
    public Builder tls(boolean tls) {
      this.tls = tls;
      return this;
    }

    /**
     * HTTP/1.1 only: cleartext ignores the HTTP/2 preface (answering it as a bad HTTP/1.1 request),
     * TLS offers only {@code http/1.1} in ALPN. Default false.
     */
    public Builder http1Only(boolean http1Only) {
      this.http1Only = http1Only;
      return this;
    }

    /** The reply when nothing else decides. Default {@link Reply#echo()}. */
    public Builder defaultReply(Reply reply) {
      this.defaultReply = Objects.requireNonNull(reply, "reply");
      return this;
    }

    /**
     * A reply for the requests a predicate matches (checked in the order rules were added, after
     * the header and the queue). The predicate sees the whole request, before its reply is chosen
     * ({@link RecordedRequest#reply()} is null there); it runs on the event loop and must be quick.
     */
    public Builder rule(Predicate<RecordedRequest> when, Reply reply) {
      rules.add(
          new ServerConfig.Rule(
              Objects.requireNonNull(when, "when"), Objects.requireNonNull(reply, "reply")));
      return this;
    }

    /**
     * Replaces the default reply by {@code failure} for a share of requests: each request that
     * would get the default reply draws from a generator seeded with {@code seed}, so the sequence
     * of decisions is the same on every run (the order requests arrive in may not be).
     */
    public Builder failureRate(double rate, long seed, Reply failure) {
      this.failureRate = rate;
      this.failureSeed = seed;
      this.failureReply = Objects.requireNonNull(failure, "failure");
      return this;
    }

    /**
     * Closes connections idle this long (no request in flight), silently: no {@code Connection:
     * close}, no GOAWAY, as load balancers do. Null (the default) keeps them open.
     */
    public Builder closeIdleAfter(@Nullable Duration idle) {
      this.closeIdleAfter = idle;
      return this;
    }

    /**
     * Serves at most this many requests per connection; 0 (the default) for no limit. HTTP/1.1: the
     * last response carries {@code Connection: close} and the connection closes after it. HTTP/2:
     * when the N-th stream opens the server sends GOAWAY(NO_ERROR) with that stream as
     * last-stream-id; it and the streams below complete, the streams above are not processed, and
     * the connection closes when the last of them ends.
     */
    public Builder maxRequestsPerConnection(int max) {
      this.maxRequestsPerConnection = max;
      return this;
    }

    /**
     * HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS; streams over it are refused (RST_STREAM
     * REFUSED_STREAM). Default 100.
     */
    public Builder maxConcurrentStreams(int max) {
      this.maxConcurrentStreams = max;
      return this;
    }

    /** The largest request body; a larger one gets a 413. Default 32 MiB. */
    public Builder maxRequestBodyBytes(int max) {
      this.maxRequestBodyBytes = max;
      return this;
    }

    /**
     * The largest request header block (HTTP/1.1 headers, HTTP/2 SETTINGS_MAX_HEADER_LIST_SIZE); a
     * larger one gets a 431. Default 16 KiB.
     */
    public Builder maxHeaderBytes(int max) {
      this.maxHeaderBytes = max;
      return this;
    }

    /** The only API key accepted (others get a 401); null (the default) accepts any key. */
    public Builder apiKey(@Nullable String apiKey) {
      this.apiKey = apiKey;
      return this;
    }

    /**
     * The models it knows: others get a 404, and {@code GET /v1/models} lists these. Empty (the
     * default) accepts any model and lists {@code mock-model}.
     */
    public Builder models(String... models) {
      this.models = List.of(models);
      return this;
    }

    /**
     * The limits the rate-limit headers report, per one-minute window. Defaults 10,000 requests and
     * 2,000,000 tokens. The server does not enforce them; ask for a 429 with a reply.
     */
    public Builder rateLimits(long requestsPerMinute, long tokensPerMinute) {
      this.requestsPerMinute = requestsPerMinute;
      this.tokensPerMinute = tokensPerMinute;
      return this;
    }

    /**
     * The calendar clock for {@code created}, {@code Date}, RFC 3339 resets and the certificate's
     * validity. Default the system's UTC clock.
     */
    public Builder clock(Clock clock) {
      this.clock = Objects.requireNonNull(clock, "clock");
      return this;
    }

    /** Event-loop threads (all connections share them). Default 1. */
    public Builder eventLoopThreads(int threads) {
      this.eventLoopThreads = threads;
      return this;
    }

    /**
     * How many requests (and closed connections' stats) to keep; older ones are dropped. Default
     * unlimited; a long-running server (the CLI) sets a bound.
     */
    public Builder requestLogLimit(int limit) {
      this.requestLogLimit = limit;
      return this;
    }

    /** For tests: run on NIO even where epoll is available. */
    Builder transport(Transport transport) {
      this.transport = transport;
      return this;
    }

    /**
     * The server, not started yet.
     *
     * @throws IllegalArgumentException naming the first setting out of range
     */
    public MockLlmServer build() {
      check(port >= 0 && port <= 65535, "port must be 0-65535: " + port);
      check(
          failureRate >= 0 && failureRate <= 1,
          "failureRate must be between 0 and 1: " + failureRate);
      Duration idle = closeIdleAfter;
      check(
          idle == null || (!idle.isNegative() && !idle.isZero()),
          "closeIdleAfter must be positive: " + idle);
      check(maxRequestsPerConnection >= 0, "maxRequestsPerConnection must be >= 0");
      check(maxConcurrentStreams >= 1, "maxConcurrentStreams must be >= 1");
      check(maxRequestBodyBytes >= 1, "maxRequestBodyBytes must be >= 1");
      check(maxHeaderBytes >= 1024, "maxHeaderBytes must be >= 1024");
      check(requestsPerMinute >= 1 && tokensPerMinute >= 5, "rate limits must be positive");
      check(eventLoopThreads >= 1 && eventLoopThreads <= 64, "eventLoopThreads must be 1-64");
      check(requestLogLimit >= 1, "requestLogLimit must be >= 1");
      for (String m : models) {
        check(!m.isBlank(), "a model name is blank");
      }
      Clock c = clock != null ? clock : WallClock.system();
      return new MockLlmServer(
          new ServerConfig(
              port,
              tls,
              http1Only,
              defaultReply,
              List.copyOf(rules),
              failureRate,
              failureSeed,
              failureReply,
              closeIdleAfter,
              maxRequestsPerConnection,
              maxConcurrentStreams,
              maxRequestBodyBytes,
              maxHeaderBytes,
              apiKey,
              List.copyOf(models),
              requestsPerMinute,
              tokensPerMinute,
              c,
              eventLoopThreads,
              requestLogLimit,
              transport));
    }

    /** Builds and starts the server. */
    public MockLlmServer start() {
      return build().start();
    }

    private static void check(boolean ok, String message) {
      if (!ok) {
        throw new IllegalArgumentException(message);
      }
    }
  }
}
