package dev.llmpool;

import dev.llmpool.http.HttpHeaders;
import dev.llmpool.http.HttpRequest;
import dev.llmpool.http.HttpResponse;
import dev.llmpool.http.StreamingResponse;
import dev.llmpool.http.internal.HttpEngine;
import dev.llmpool.http.internal.LeaseSource;
import dev.llmpool.llm.ChatClient;
import dev.llmpool.llm.ChatObserver;
import dev.llmpool.llm.ChatOptions;
import dev.llmpool.llm.OpenAiAuth;
import dev.llmpool.llm.Pacing;
import dev.llmpool.llm.RetryPolicy;
import dev.llmpool.llm.internal.ChatClientSettings;
import dev.llmpool.llm.internal.ChatEndpoint;
import dev.llmpool.llm.internal.DefaultChatClient;
import dev.llmpool.llm.internal.RateLimitPacer;
import dev.llmpool.llm.internal.SseParser;
import dev.llmpool.metrics.InstrumentedConnections;
import dev.llmpool.metrics.PoolMonitor;
import dev.llmpool.pool.ConnectionFactory;
import dev.llmpool.pool.ConnectionPool;
import dev.llmpool.pool.Lease;
import dev.llmpool.time.Scheduler;
import dev.llmpool.time.Ticker;
import dev.llmpool.transport.NettyTransport;
import dev.llmpool.transport.TransportSettings;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.SSLContext;
import javax.net.ssl.X509TrustManager;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A pool of warm, bounded HTTP connections to an LLM API, and the HTTP client that uses them. Every
 * call after the first rides an open connection (HTTP/1.1 keep-alive, or one multiplexed HTTP/2
 * connection); the number of connections and of waiting calls is bounded; every call ends within
 * {@code timeouts.total}; a request is never sent twice unless the server provably did not process
 * it.
 *
 * <pre>{@code
 * try (LlmPool pool = LlmPool.builder()
 *         .baseUrl("https://api.openai.com/v1")
 *         .bearerToken(System.getenv("OPENAI_API_KEY"))
 *         .build()) {
 *   HttpResponse r = pool.send(HttpRequest.post("/chat/completions").json(body).build());
 * }
 * }</pre>
 *
 * <p><b>One pool per application.</b> A pool is expensive to make (threads, TLS contexts) and its
 * whole value is the connections it keeps: make one at start-up, share it between threads, close it
 * at shut-down. Making one per request opens a connection per request, which is what llmpool exists
 * to avoid; a warning is logged when more than {@value #MANY_POOLS} pools to the same origin are
 * open at once.
 *
 * <p>Thread-safe. Blocking methods are safe on virtual threads (they park, never pin). Async
 * methods return futures that complete on llmpool's I/O threads: chain slow work with the {@code
 * *Async} methods of {@link CompletableFuture}, and never block in a dependent stage. Cancelling a
 * returned future cancels the call.
 */
public final class LlmPool implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(LlmPool.class);

  /** Pools to one origin beyond which a warning is logged (once per origin). */
  static final int MANY_POOLS = 4;

  private static final ConcurrentHashMap<Origin, AtomicInteger> LIVE = new ConcurrentHashMap<>();
  private static final Set<Origin> WARNED = ConcurrentHashMap.newKeySet();

  /** The library's version, as in {@code User-Agent: llmpool/<version>}. */
  public static final String VERSION = readVersion();

  private final Builder config;
  private final @Nullable Origin baseOrigin;
  private final NettyTransport transport;
  private final ConnectionPool pool;
  private final HttpEngine engine;
  private final PoolLlmHttp llmHttp;
  private final PoolMonitor monitor;
  private final @Nullable MetricsSink metrics;
  private final ChatClientSettings chatSettings;
  private final ConcurrentHashMap<PacerKey, RateLimitPacer> pacers = new ConcurrentHashMap<>();
  private final Duration closeGrace;
  private final AtomicBoolean closed = new AtomicBoolean();
  private final CompletableFuture<Void> terminated = new CompletableFuture<>();

  private LlmPool(Builder b) {
    this.config = b.copy();
    this.closeGrace = b.closeGrace;
    URI base = b.baseUrl;
    this.baseOrigin = base == null ? null : Origin.of(base);
    Ticker ticker = b.ticker();
    Scheduler scheduler = b.scheduler != null ? b.scheduler : Scheduler.system();
    this.metrics = b.metrics;
    EventListener listener =
        metrics == null ? b.listener : HttpEngine.combine(b.listener, metrics.eventListener());

    TransportSettings.Builder ts =
        TransportSettings.builder()
            .timeouts(b.timeouts)
            .http2(b.http2)
            .trustPem(b.trustPem)
            .trustManager(b.trustManager)
            .sslContext(b.sslContext)
            .dnsCacheTtl(b.dnsCacheTtl)
            .ticker(ticker)
            .listener(listener)
            .pingAfterIdle(b.pingAfterIdle)
            .maxResponseHeaderBytes(b.maxResponseHeaderBytes);
    if (b.ioThreads > 0) {
      ts.ioThreads(b.ioThreads);
    }
    for (String h : b.h2c) {
      ts.h2cPriorKnowledge(h);
    }
    for (String h : b.http1) {
      ts.http1Only(h);
    }
    for (Map.Entry<String, String> e : b.defaultHeaders().entrySet()) {
      ts.defaultHeader(e.getKey(), e.getValue());
    }
    this.transport = new NettyTransport(ts.build());
    this.monitor =
        new PoolMonitor(
            this::coreStats,
            scheduler,
            b.warnings,
            b.limits,
            b.timeouts,
            transport.settings()::expectsMultiplexing,
            log,
            transport.ioTransportName(),
            transport.tlsProviderName());
    ConnectionFactory connections =
        metrics != null && metrics.wantsConnectionEvents()
            ? new InstrumentedConnections(transport, metrics, ticker)
            : transport;
    ConnectionPool p;
    try {
      p =
          ConnectionPool.builder(connections)
              .limits(b.limits)
              .scheduler(scheduler)
              .observer(monitor)
              .leakTracking(b.leakTracking)
              .build();
    } catch (RuntimeException e) {
      transport.close();
      throw e;
    }
    this.pool = p;
    this.engine =
        new HttpEngine(
            new PoolLeases(pool), base, b.timeouts, b.maxResponseBodySize, listener, ticker);
    this.llmHttp = new PoolLlmHttp(engine, ticker);
    this.chatSettings =
        ChatClientSettings.defaults(scheduler)
            .withRetryPolicy(b.retryPolicy)
            .withTotalTimeout(b.timeouts.total())
            .withAsyncExecutor(b.chatExecutor)
            .withEventListener(listener)
            .withCallIds(engine::newCallId)
            .withLimits(
                (int) b.maxResponseBodySize,
                ChatClientSettings.DEFAULT_MAX_ERROR_BYTES,
                SseParser.DEFAULT_MAX_EVENT_BYTES)
            .withObserver(both(b.chatObserver, metrics == null ? null : metrics.chatObserver()));
    register();
    monitor.start();
    if (metrics != null) {
      try {
        metrics.poolStarted(this);
      } catch (RuntimeException e) {
        // A sink that refuses this pool (one that already reports another) fails the build;
        // nothing of this pool may be left running.
        var unused = closeAsync();
        throw e;
      }
    }
    log.debug(
        "llmpool {} to {}: {} I/O, TLS {}",
        VERSION,
        baseOrigin == null ? "(no base URL)" : baseOrigin,
        transport.ioTransportName(),
        transport.tlsProviderName());
    if (b.prewarm > 0 && baseOrigin != null) {
      Origin o = baseOrigin;
      var unused =
          pool.prewarm(o, b.prewarm)
              .whenComplete(
                  (v, e) -> {
                    if (e != null) {
                      log.warn(
                          "pre-warming {} connection(s) to {} failed: {}",
                          b.prewarm,
                          o,
                          e.getMessage());
                    }
                  });
    }
  }

  /**
   * The user's chat observer and the metrics sink's, each shielded from the other's exception; null
   * when neither is set, so that calls measure nothing.
   */
  private static @Nullable ChatObserver both(
      @Nullable ChatObserver mine, @Nullable ChatObserver sink) {
    if (mine == null) {
      return sink;
    }
    if (sink == null) {
      return mine;
    }
    return o -> {
      try {
        mine.chatEnded(o);
      } catch (RuntimeException e) {
        log.warn("chat observer threw; ignored", e);
      }
      sink.chatEnded(o);
    };
  }

  /** A builder with the defaults. */
  public static Builder builder() {
    return new Builder();
  }

  /** A builder holding this pool's configuration, to make another pool like it. */
  public Builder toBuilder() {
    return config.copy();
  }

  // ---- Calls ----

  /**
   * Sends {@code request} and waits for the whole response (any status: the caller decides what a
   * 4xx or 5xx means).
   *
   * @throws LlmPoolException naming the phase and origin when the call fails; see {@link
   *     LlmPoolException#requestMayHaveBeenProcessed()} before retrying it yourself
   * @throws IllegalStateException when called on one of llmpool's I/O threads (it would wait for
   *     itself; use {@link #sendAsync})
   */
  public HttpResponse send(HttpRequest request) {
    return engine.send(request);
  }

  /**
   * Sends {@code request}; the future completes with the whole response or an {@link
   * LlmPoolException}.
   */
  public CompletableFuture<HttpResponse> sendAsync(HttpRequest request) {
    return engine.sendAsync(request);
  }

  /**
   * Sends {@code request} and waits for the status and headers; the body is then read from the
   * returned response as it arrives. Close the response (try-with-resources).
   */
  public StreamingResponse stream(HttpRequest request) {
    return engine.stream(request);
  }

  /** Sends {@code request}; the future completes once the status and headers arrived. */
  public CompletableFuture<StreamingResponse> streamAsync(HttpRequest request) {
    return engine.streamAsync(request);
  }

  // ---- LLM APIs ----

  /**
   * A client for OpenAI-compatible chat completions ({@code POST {baseUrl}/chat/completions}) on
   * this pool's connections, with {@code model} as its default model. The base URL is like {@code
   * https://api.openai.com/v1}, {@code http://localhost:8000/v1} (vLLM), {@code
   * http://localhost:11434/v1} (Ollama) or an Azure deployment URL with its {@code api-version}
   * query. The key is the pool's {@link Builder#bearerToken} or {@link Builder#apiKey}, sent as
   * {@link Builder#openAiAuth} says. Retries, pacing, the observer and {@code timeouts.total} are
   * the pool's. Cheap: make one per model and share it (thread-safe).
   *
   * @throws IllegalStateException when the pool has no base URL
   * @throws IllegalArgumentException when {@code model} is blank
   */
  public ChatClient openAiChat(String model) {
    return openAiChat(ChatOptions.model(checkModel(model)));
  }

  /**
   * {@link #openAiChat(String)} with default options (model, temperature, max tokens, system
   * prompt, extra fields and headers...) that every call starts from. Without a model in {@code
   * defaults}, every call must give one.
   */
  public ChatClient openAiChat(ChatOptions defaults) {
    Objects.requireNonNull(defaults, "defaults");
    String base = chatBaseUrl("openAiChat");
    String key = config.chatKey();
    OpenAiAuth auth = config.openAiAuth;
    if (auth == OpenAiAuth.AUTO
        && config.bearerToken == null
        && "api-key".equalsIgnoreCase(config.apiKeyHeader)) {
      auth = OpenAiAuth.API_KEY_HEADER; // the pool was told to send the key as api-key
    }
    return chatClient(ChatEndpoint.openAi(base, key, auth, config.streamUsage), key, defaults);
  }

  /**
   * A client for Anthropic messages ({@code POST {baseUrl}/v1/messages}, base URL {@code
   * https://api.anthropic.com}; a base URL ending in {@code /v1} is accepted too) on this pool's
   * connections, with {@code model} as its default model. The pool's key ({@link Builder#apiKey} or
   * {@link Builder#bearerToken}) goes in {@code x-api-key}, with {@code anthropic-version:
   * 2023-06-01}. Give the pool the key as {@code apiKey("x-api-key", key)}: a {@code bearerToken}
   * is also sent as {@code Authorization: Bearer} on every request of the pool.
   *
   * @throws IllegalStateException when the pool has no base URL
   * @throws IllegalArgumentException when {@code model} is blank
   */
  public ChatClient anthropicMessages(String model) {
    return anthropicMessages(ChatOptions.model(checkModel(model)));
  }

  /** {@link #anthropicMessages(String)} with default options that every call starts from. */
  public ChatClient anthropicMessages(ChatOptions defaults) {
    Objects.requireNonNull(defaults, "defaults");
    String base = chatBaseUrl("anthropicMessages");
    String key = config.anthropicKey();
    return chatClient(ChatEndpoint.anthropic(base, key), key, defaults);
  }

  private ChatClient chatClient(ChatEndpoint endpoint, @Nullable String key, ChatOptions defaults) {
    ChatClientSettings s = chatSettings;
    if (config.pacing.enabled()) {
      // One pacer per origin and key: the limits are the key's, shared by every client using it.
      s =
          s.withPacer(
              pacers.computeIfAbsent(new PacerKey(endpoint.origin(), key), k -> newPacer()));
    }
    return new DefaultChatClient(endpoint, llmHttp, defaults, s);
  }

  /** A pacer whose waits stay within the pool timeout, as a wait for a connection does. */
  private RateLimitPacer newPacer() {
    Pacing p = config.pacing;
    Duration pool = config.timeouts.pool();
    return new RateLimitPacer(
        p.maxWait().compareTo(pool) <= 0 ? p : p.toBuilder().maxWait(pool).build());
  }

  private static String checkModel(String model) {
    Objects.requireNonNull(model, "model");
    if (model.isBlank()) {
      throw new IllegalArgumentException("model is empty");
    }
    return model;
  }

  private String chatBaseUrl(String what) {
    URI base = config.baseUrl;
    if (base == null) {
      throw new IllegalStateException(
          what + " needs the pool's baseUrl, like https://api.openai.com/v1");
    }
    return base.toString();
  }

  /** Which pacer: an origin and the key used there (held, never printed). */
  private static final class PacerKey {
    private final Origin origin;
    private final @Nullable String key;

    PacerKey(Origin origin, @Nullable String key) {
      this.origin = origin;
      this.key = key;
    }

    @Override
    public boolean equals(@Nullable Object o) {
      return o instanceof PacerKey k && origin.equals(k.origin) && Objects.equals(key, k.key);
    }

    @Override
    public int hashCode() {
      return origin.hashCode() * 31 + Objects.hashCode(key);
    }

    @Override
    public String toString() {
      return "PacerKey{" + origin + "}";
    }
  }

  // ---- The pool ----

  /**
   * The LLM layer's HTTP seam over this pool (for {@code openAiChat} and {@code
   * anthropicMessages}).
   */
  dev.llmpool.llm.internal.LlmHttp llmHttp() {
    return llmHttp;
  }

  /**
   * A snapshot of the pool: connections per state, waiting calls, counters, peaks, utilization
   * warnings, per origin (with its protocol) and in total (with the I/O transport and TLS
   * provider). Its {@code toString()} is one line, made to be pasted into a bug report.
   */
  public PoolStats stats() {
    return monitor.enrich(pool.stats());
  }

  private PoolStats coreStats() {
    return pool.stats();
  }

  /**
   * Opens connections to the base URL's origin until it has {@code connections}, within the limits.
   * The future completes when they are open.
   */
  public CompletableFuture<Void> prewarm(int connections) {
    Origin o = baseOrigin;
    if (o == null) {
      throw new IllegalStateException("no baseUrl to pre-warm");
    }
    return pool.prewarm(o, connections);
  }

  /** Opens connections to the origin of {@code url} until it has {@code connections}. */
  public CompletableFuture<Void> prewarm(String url, int connections) {
    return pool.prewarm(Origin.of(url), connections);
  }

  /** The base URL relative request targets resolve against, or null. */
  public @Nullable URI baseUrl() {
    return config.baseUrl;
  }

  /** The limits in force. */
  public Limits limits() {
    return config.limits;
  }

  /** The timeouts in force. */
  public Timeouts timeouts() {
    return config.timeouts;
  }

  /** The I/O transport in use: {@code "epoll"} or {@code "nio"}. */
  public String ioTransport() {
    return transport.ioTransportName();
  }

  /** The TLS implementation in use: {@code "OpenSSL (BoringSSL)"} or {@code "JDK"}. */
  public String tlsProvider() {
    return transport.tlsProviderName();
  }

  /** True once {@link #close()} was called. */
  public boolean isClosed() {
    return closed.get();
  }

  /**
   * Closes the pool gracefully: new calls fail at once with {@link PoolClosedException}; calls in
   * flight get up to {@code closeGracePeriod} (default 30 s) to finish; then every connection is
   * closed and the I/O threads stop. Blocks until that is done (at most the grace period and a few
   * seconds), except on an llmpool I/O thread, where it returns at once and finishes in the
   * background. Idempotent.
   */
  @Override
  public void close() {
    CompletableFuture<Void> done = closeAsync();
    if (NettyTransport.onIoThread()) {
      return;
    }
    try {
      done.get(closeGrace.toMillis() + 10_000, TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (ExecutionException | TimeoutException e) {
      log.warn("closing {} did not finish cleanly: {}", this, e.toString());
    }
  }

  /** Starts a graceful close (see {@link #close()}); the future completes when it is done. */
  public CompletableFuture<Void> closeAsync() {
    if (!closed.compareAndSet(false, true)) {
      return terminated;
    }
    unregister();
    monitor.stop();
    CompletableFuture<Void> drained = engine.shutdown();
    long graceMillis = closeGrace.toMillis();
    var unused =
        drained
            .completeOnTimeout(null, graceMillis, TimeUnit.MILLISECONDS)
            .thenCompose(v -> pool.close(engine.inFlight() == 0 ? closeGrace : Duration.ZERO))
            .completeOnTimeout(null, 5, TimeUnit.SECONDS)
            .whenComplete(
                (v, e) -> {
                  transport.close();
                  transport.whenTerminated(
                      () -> {
                        MetricsSink m = metrics;
                        if (m != null) {
                          try {
                            m.poolClosed(this);
                          } catch (RuntimeException ex) {
                            log.warn("metrics sink threw on close; ignored", ex);
                          }
                        }
                        terminated.complete(null);
                      });
                });
    return terminated;
  }

  @Override
  public String toString() {
    return "LlmPool{" + (baseOrigin == null ? "no base URL" : baseOrigin) + "}";
  }

  // ---- Many pools to one origin ----

  private void register() {
    Origin o = baseOrigin;
    if (o == null) {
      return;
    }
    int n = LIVE.computeIfAbsent(o, k -> new AtomicInteger()).incrementAndGet();
    if (n > MANY_POOLS && WARNED.add(o)) {
      log.warn(
          "{} LlmPools to {} are open at once. Make one LlmPool per application and share it: each"
              + " pool keeps its own connections, so a pool per request or per task opens a"
              + " connection (TCP, TLS, DNS) per call, which is what llmpool exists to avoid.",
          n,
          o);
    }
  }

  private void unregister() {
    Origin o = baseOrigin;
    if (o != null) {
      AtomicInteger n = LIVE.get(o);
      if (n != null) {
        n.decrementAndGet();
      }
    }
  }

  /** Whether the many-pools warning was logged for {@code origin} (tests). */
  static boolean warnedAbout(Origin origin) {
    return WARNED.contains(origin);
  }

  /** Live pools per origin (tests). */
  static int livePools(Origin origin) {
    AtomicInteger n = LIVE.get(origin);
    return n == null ? 0 : n.get();
  }

  private static String readVersion() {
    try (InputStream in = LlmPool.class.getResourceAsStream("llmpool-version.properties")) {
      if (in != null) {
        Properties p = new Properties();
        p.load(in);
        String v = p.getProperty("version");
        if (v != null && !v.isBlank() && !v.startsWith("$")) {
          return v.trim();
        }
      }
    } catch (IOException e) {
      // fall through
    }
    return "dev";
  }

  /** The pool seen as the engine's lease source. */
  private static final class PoolLeases implements LeaseSource {
    private final ConnectionPool pool;

    PoolLeases(ConnectionPool pool) {
      this.pool = pool;
    }

    @Override
    public @Nullable Lease tryAcquire(Origin origin) {
      return pool.tryAcquire(origin);
    }

    @Override
    public CompletableFuture<Lease> acquire(
        Origin origin, long timeoutNanos, @Nullable Object cause) {
      return pool.acquire(origin, timeoutNanos, cause);
    }
  }

  /**
   * Configures an {@link LlmPool}; {@link #build()} checks the values. Every option has a default
   * fit for LLM APIs. Not thread-safe.
   */
  public static final class Builder {
    private @Nullable URI baseUrl;
    private @Nullable String bearerToken;
    private @Nullable String apiKeyHeader;
    private @Nullable String apiKey;
    private final LinkedHashMap<String, String> headers = new LinkedHashMap<>();
    private @Nullable String userAgent;
    private Limits limits = Limits.DEFAULTS;
    private Timeouts timeouts = Timeouts.DEFAULTS;
    private boolean http2 = true;
    private final List<String> h2c = new ArrayList<>();
    private final List<String> http1 = new ArrayList<>();
    private @Nullable Duration dnsCacheTtl;
    private int prewarm;
    private @Nullable Path trustPem;
    private @Nullable X509TrustManager trustManager;
    private @Nullable SSLContext sslContext;
    private long maxResponseBodySize = 64L * 1024 * 1024;
    private int maxResponseHeaderBytes = 64 * 1024;
    private EventListener listener = EventListener.NONE;
    private PoolWarnings warnings = PoolWarnings.DEFAULTS;
    private @Nullable MetricsSink metrics;
    private @Nullable Ticker ticker;
    private @Nullable Scheduler scheduler;
    private int ioThreads;
    private Duration closeGrace = Duration.ofSeconds(30);
    private boolean leakTracking;
    private Duration pingAfterIdle = TransportSettings.DEFAULT_PING_AFTER_IDLE;
    private RetryPolicy retryPolicy = RetryPolicy.DEFAULT;
    private Pacing pacing = Pacing.OFF;
    private OpenAiAuth openAiAuth = OpenAiAuth.AUTO;
    private boolean streamUsage = true;
    private @Nullable ChatObserver chatObserver;
    private @Nullable Executor chatExecutor;

    private Builder() {}

    Builder copy() {
      Builder b = new Builder();
      b.baseUrl = baseUrl;
      b.bearerToken = bearerToken;
      b.apiKeyHeader = apiKeyHeader;
      b.apiKey = apiKey;
      b.headers.putAll(headers);
      b.userAgent = userAgent;
      b.limits = limits;
      b.timeouts = timeouts;
      b.http2 = http2;
      b.h2c.addAll(h2c);
      b.http1.addAll(http1);
      b.dnsCacheTtl = dnsCacheTtl;
      b.prewarm = prewarm;
      b.trustPem = trustPem;
      b.trustManager = trustManager;
      b.sslContext = sslContext;
      b.maxResponseBodySize = maxResponseBodySize;
      b.maxResponseHeaderBytes = maxResponseHeaderBytes;
      b.listener = listener;
      b.warnings = warnings;
      b.metrics = metrics;
      b.ticker = ticker;
      b.scheduler = scheduler;
      b.ioThreads = ioThreads;
      b.closeGrace = closeGrace;
      b.leakTracking = leakTracking;
      b.pingAfterIdle = pingAfterIdle;
      b.retryPolicy = retryPolicy;
      b.pacing = pacing;
      b.openAiAuth = openAiAuth;
      b.streamUsage = streamUsage;
      b.chatObserver = chatObserver;
      b.chatExecutor = chatExecutor;
      return b;
    }

    /**
     * The base URL that request paths resolve under, e.g. {@code https://api.openai.com/v1}: a path
     * {@code /chat/completions} is sent to {@code https://api.openai.com/v1/chat/completions}.
     * Optional: without one, every request needs an absolute URL.
     *
     * <p>A query is kept and added to every request under the base URL: Azure OpenAI's {@code
     * https://RES.openai.azure.com/openai/deployments/DEPLOYMENT?api-version=2024-10-21}. It is
     * never printed (a query may hold a key).
     *
     * @throws IllegalArgumentException when it is not an absolute http(s) URL with a host, or has
     *     user-info or a fragment
     */
    public Builder baseUrl(String url) {
      Objects.requireNonNull(url, "baseUrl");
      URI uri;
      try {
        uri = new URI(url.trim());
      } catch (URISyntaxException e) {
        throw new IllegalArgumentException("malformed baseUrl at index " + e.getIndex(), e);
      }
      return baseUrl(uri);
    }

    /** See {@link #baseUrl(String)}. */
    public Builder baseUrl(URI url) {
      Objects.requireNonNull(url, "baseUrl");
      String scheme = url.getScheme();
      if (scheme == null
          || !(scheme.equalsIgnoreCase("http") || scheme.equalsIgnoreCase("https"))
          || url.getHost() == null) {
        throw new IllegalArgumentException(
            "baseUrl must be an absolute http(s) URL with a host, like https://api.openai.com/v1");
      }
      if (url.getRawUserInfo() != null) {
        throw new IllegalArgumentException(
            "baseUrl must not carry credentials (user-info); use bearerToken or apiKey");
      }
      if (url.getRawFragment() != null) {
        throw new IllegalArgumentException("baseUrl must not have a fragment");
      }
      this.baseUrl = url;
      return this;
    }

    /** Sends {@code Authorization: Bearer <token>} with every request (OpenAI-style APIs). */
    public Builder bearerToken(String token) {
      Objects.requireNonNull(token, "bearerToken");
      if (token.isBlank()) {
        throw new IllegalArgumentException("bearerToken is empty");
      }
      String t = token.trim();
      for (int i = 0; i < t.length(); i++) {
        char c = t.charAt(i);
        if (c < 0x20 || c == 0x7f || c > 0xff) {
          // A line break would put a header of the caller's choosing on the wire. Never echo the
          // token: it is a credential.
          throw new IllegalArgumentException(
              "bearerToken has an illegal character at index "
                  + i
                  + " (control characters such as CR and LF are not allowed in a header value)");
        }
      }
      this.bearerToken = t;
      return this;
    }

    /**
     * Sends an API key in a header of its own with every request, e.g. {@code apiKey("x-api-key",
     * key)} for Anthropic. The value never appears in logs, messages or {@code toString()}.
     */
    public Builder apiKey(String headerName, String key) {
      Objects.requireNonNull(headerName, "headerName");
      Objects.requireNonNull(key, "key");
      if (key.isBlank()) {
        throw new IllegalArgumentException("API key is empty");
      }
      HttpHeaders.of(headerName, key); // validates name and value
      this.apiKeyHeader = headerName;
      this.apiKey = key.trim();
      return this;
    }

    /** A header sent with every request (a request header of the same name replaces it). */
    public Builder defaultHeader(String name, String value) {
      HttpHeaders.of(name, value); // validates
      String lower = name.toLowerCase(Locale.ROOT);
      if (Set.of(
              "host",
              "content-length",
              "transfer-encoding",
              "connection",
              "keep-alive",
              "te",
              "upgrade",
              "proxy-connection")
          .contains(lower)) {
        throw new IllegalArgumentException("header '" + name + "' is managed by llmpool");
      }
      headers.remove(findKey(name));
      headers.put(name, value);
      return this;
    }

    /** Headers sent with every request. */
    public Builder defaultHeaders(Map<String, String> h) {
      h.forEach(this::defaultHeader);
      return this;
    }

    private String findKey(String name) {
      for (String k : headers.keySet()) {
        if (k.equalsIgnoreCase(name)) {
          return k;
        }
      }
      return name;
    }

    /** Replaces the default {@code User-Agent: llmpool/<version>}. */
    public Builder userAgent(String ua) {
      HttpHeaders.of("user-agent", ua);
      this.userAgent = ua;
      return this;
    }

    /** Connection limits; default {@link Limits#DEFAULTS}. */
    public Builder limits(Limits l) {
      this.limits = Objects.requireNonNull(l, "limits");
      return this;
    }

    /** Timeouts per phase; default {@link Timeouts#DEFAULTS}. */
    public Builder timeouts(Timeouts t) {
      this.timeouts = Objects.requireNonNull(t, "timeouts");
      return this;
    }

    /**
     * HTTP/2 on or off. On (the default): TLS connections offer {@code h2} and {@code http/1.1} in
     * ALPN and use what the server picks; plain-text connections use HTTP/2 only for hosts marked
     * with {@link #h2cPriorKnowledge}. Off: HTTP/1.1 everywhere.
     */
    public Builder http2(boolean on) {
      this.http2 = on;
      return this;
    }

    /**
     * Speaks HTTP/2 without negotiation (h2c, "prior knowledge") to a plain-text {@code http://}
     * host: {@code "localhost:8000"}, {@code "localhost"} (any port) or {@code
     * "http://localhost:8000"}. For local inference servers that speak h2c.
     */
    public Builder h2cPriorKnowledge(String host) {
      TransportSettings.hostSelector(host);
      h2c.add(host);
      return this;
    }

    /**
     * Speaks only HTTP/1.1 to a host ({@code "host"}, {@code "host:port"} or an origin URL), for
     * servers whose HTTP/2 is broken.
     */
    public Builder forceHttp1(String host) {
      TransportSettings.hostSelector(host);
      http1.add(host);
      return this;
    }

    /**
     * How long a DNS answer is reused [aiohttp {@code ttl_dns_cache}]. Default: each record's TTL,
     * capped at 5 minutes. Zero: ask DNS for every new connection.
     */
    public Builder dnsCacheTtl(Duration ttl) {
      Objects.requireNonNull(ttl, "dnsCacheTtl");
      if (ttl.isNegative()) {
        throw new IllegalArgumentException("dnsCacheTtl must not be negative, got " + ttl);
      }
      this.dnsCacheTtl = ttl;
      return this;
    }

    /** Opens {@code n} connections to the base URL's origin when the pool is built. Default 0. */
    public Builder prewarm(int n) {
      if (n < 0) {
        throw new IllegalArgumentException("prewarm must not be negative, got " + n);
      }
      this.prewarm = n;
      return this;
    }

    /**
     * Trusts the certificates in a PEM file (a private CA, a self-signed server) instead of the
     * JDK's default trust store. Host names are still verified.
     */
    public Builder trustedCertificates(Path pemFile) {
      this.trustPem = Objects.requireNonNull(pemFile, "pemFile");
      return this;
    }

    /** Checks server certificates with this trust manager. Host names are still verified. */
    public Builder trustManager(X509TrustManager tm) {
      this.trustManager = Objects.requireNonNull(tm, "trustManager");
      return this;
    }

    /**
     * Uses this {@link SSLContext} (its key and trust managers) for TLS, with the JDK's TLS. Host
     * names are still verified.
     */
    public Builder sslContext(SSLContext ctx) {
      this.sslContext = Objects.requireNonNull(ctx, "sslContext");
      return this;
    }

    /**
     * The largest response body {@link LlmPool#send} reads into memory; a larger one fails with
     * {@link ResponseTooLargeException}. Default 64 MiB. Streamed bodies are not limited.
     */
    public Builder maxResponseBodySize(long bytes) {
      if (bytes < 1 || bytes > Integer.MAX_VALUE - 8) {
        throw new IllegalArgumentException(
            "maxResponseBodySize must be 1.." + (Integer.MAX_VALUE - 8) + ", got " + bytes);
      }
      this.maxResponseBodySize = bytes;
      return this;
    }

    /** The largest response head (status line and headers). Default 64 KiB. */
    public Builder maxResponseHeaderSize(int bytes) {
      if (bytes < 1024) {
        throw new IllegalArgumentException(
            "maxResponseHeaderSize must be at least 1024, got " + bytes);
      }
      this.maxResponseHeaderBytes = bytes;
      return this;
    }

    /** Hears every call's steps (see {@link EventListener}). Default none. */
    public Builder eventListener(EventListener l) {
      this.listener = Objects.requireNonNull(l, "listener");
      return this;
    }

    /**
     * When the pool logs that it runs short of connections: one warning when utilization stays high
     * (with hysteresis), and a periodic summary of pool timeouts and rejections. Default {@link
     * PoolWarnings#DEFAULTS} (80 % for 10 s, re-armed below 60 %, summaries at most every 60 s);
     * {@link PoolWarnings#OFF} turns them off.
     */
    public Builder warnings(PoolWarnings w) {
      this.warnings = Objects.requireNonNull(w, "warnings");
      return this;
    }

    /**
     * Reports the pool to a metrics library, e.g. {@code .metrics(new
     * LlmPoolMetrics(meterRegistry))} with {@code llmpool-micrometer}. The sink hears every call
     * (besides {@link #eventListener}), every connection's open and close, and reads {@link
     * LlmPool#stats()}. Default none.
     */
    public Builder metrics(MetricsSink sink) {
      this.metrics = Objects.requireNonNull(sink, "metrics");
      return this;
    }

    /** The time source (tests); default the system's, or the scheduler's when one is given. */
    public Builder ticker(Ticker t) {
      this.ticker = Objects.requireNonNull(t, "ticker");
      return this;
    }

    /**
     * The scheduler of pool deadlines and maintenance (tests); default {@link Scheduler#system()}.
     */
    public Builder scheduler(Scheduler s) {
      this.scheduler = Objects.requireNonNull(s, "scheduler");
      return this;
    }

    /**
     * I/O threads; default half the available processors, at least 1 and at most 4 (one thread
     * carries tens of thousands of calls a second; fewer threads sleep and wake less often).
     */
    public Builder ioThreads(int n) {
      if (n < 1) {
        throw new IllegalArgumentException("ioThreads must be at least 1, got " + n);
      }
      this.ioThreads = n;
      return this;
    }

    /**
     * Records where each connection is acquired, so that a leaked one (a {@code StreamingResponse}
     * dropped without {@code close()}) is logged with the stack of the code that forgot to close
     * it. Leaks are reclaimed and logged either way; tracking costs a stack capture per call, so it
     * is for finding a leak, not for production. Default off.
     */
    public Builder leakTracking(boolean on) {
      this.leakTracking = on;
      return this;
    }

    /** How long {@link LlmPool#close()} lets calls in flight finish. Default 30 s. */
    public Builder closeGracePeriod(Duration grace) {
      Objects.requireNonNull(grace, "closeGracePeriod");
      if (grace.isNegative()) {
        throw new IllegalArgumentException("closeGracePeriod must not be negative, got " + grace);
      }
      this.closeGrace = grace;
      return this;
    }

    /**
     * An HTTP/2 connection idle for this long is checked with a PING before its next use (a dead
     * one is replaced without the call noticing). Default 30 s; zero turns the check off.
     */
    public Builder http2PingAfterIdle(Duration idle) {
      Objects.requireNonNull(idle, "http2PingAfterIdle");
      if (idle.isNegative()) {
        throw new IllegalArgumentException("http2PingAfterIdle must not be negative, got " + idle);
      }
      this.pingAfterIdle = idle;
      return this;
    }

    /**
     * When the chat clients ({@link LlmPool#openAiChat}, {@link LlmPool#anthropicMessages}) retry a
     * failed call. Default {@link RetryPolicy#DEFAULT}: 2 retries on 408, 409, 429, 5xx and 529,
     * honouring {@code Retry-After}, as the official SDKs do; {@link RetryPolicy#NONE} for none.
     */
    public Builder retryPolicy(RetryPolicy policy) {
      this.retryPolicy = Objects.requireNonNull(policy, "retryPolicy");
      return this;
    }

    /**
     * Client-side pacing of chat calls by the provider's rate-limit headers: when the last response
     * said the requests or tokens of a window are used up, a new call waits for the window's reset
     * (at most {@link Pacing#maxWait()}, the pool timeout and what is left of {@code
     * timeouts.total}) instead of earning a 429. One pacer per origin and key, shared by every chat
     * client of this pool. Default {@link Pacing#OFF}.
     */
    public Builder pacing(Pacing pacing) {
      this.pacing = Objects.requireNonNull(pacing, "pacing");
      return this;
    }

    /**
     * How {@link LlmPool#openAiChat} sends the key. Default {@link OpenAiAuth#AUTO}: {@code
     * api-key} for Azure OpenAI hosts (or when the key was given as {@code apiKey("api-key",
     * key)}), {@code Authorization: Bearer} elsewhere.
     */
    public Builder openAiAuth(OpenAiAuth auth) {
      this.openAiAuth = Objects.requireNonNull(auth, "openAiAuth");
      return this;
    }

    /**
     * Whether OpenAI-compatible streams ask for token usage ({@code stream_options.include_usage}).
     * Default on; turn it off for a server that refuses the field (Azure api-versions before
     * 2024-09-01 are recognised and left out automatically).
     */
    public Builder streamUsage(boolean on) {
      this.streamUsage = on;
      return this;
    }

    /**
     * Hears every chat call once when it ends, success or failure: provider, models, usage,
     * duration, time to first chunk, attempts, error type, rate limits (for metrics and tracing).
     * Default none, which costs nothing.
     */
    public Builder chatObserver(ChatObserver observer) {
      this.chatObserver = Objects.requireNonNull(observer, "chatObserver");
      return this;
    }

    /**
     * Where the asynchronous chat calls ({@code completeAsync}, {@code streamAsync}) run their
     * steps: decoding the response and calling the stream listener. Default none: they run on the
     * llmpool I/O thread that delivered the bytes, so listeners must be quick; give an executor
     * (virtual threads are a good fit) for listeners that are not. Blocking calls always run their
     * steps on the calling thread.
     */
    public Builder chatExecutor(Executor executor) {
      this.chatExecutor = Objects.requireNonNull(executor, "chatExecutor");
      return this;
    }

    /** The key the chat clients send: the bearer token, else the API key; null for none. */
    @Nullable String chatKey() {
      if (bearerToken != null) {
        return bearerToken;
      }
      return apiKey;
    }

    /** The key for Anthropic: an {@code x-api-key} API key first, else {@link #chatKey()}. */
    @Nullable String anthropicKey() {
      if (apiKey != null && "x-api-key".equalsIgnoreCase(apiKeyHeader)) {
        return apiKey;
      }
      return chatKey();
    }

    Ticker ticker() {
      if (ticker != null) {
        return ticker;
      }
      return scheduler != null ? scheduler.ticker() : Ticker.system();
    }

    /** The headers sent with every request, in order: User-Agent, credentials, the user's. */
    Map<String, String> defaultHeaders() {
      LinkedHashMap<String, String> all = new LinkedHashMap<>();
      boolean uaSet = headers.keySet().stream().anyMatch(k -> k.equalsIgnoreCase("user-agent"));
      if (!uaSet) {
        all.put("User-Agent", userAgent != null ? userAgent : "llmpool/" + VERSION);
      }
      if (bearerToken != null) {
        all.put("Authorization", "Bearer " + bearerToken);
      }
      if (apiKeyHeader != null && apiKey != null) {
        all.put(apiKeyHeader, apiKey);
      }
      all.putAll(headers);
      return all;
    }

    /**
     * Checks the configuration and builds the pool (its threads start lazily; no connection opens
     * unless {@link #prewarm} asks).
     *
     * @throws IllegalArgumentException for conflicting options (two trust sources, a ticker that is
     *     not the scheduler's)
     */
    public LlmPool build() {
      int trust =
          (trustPem != null ? 1 : 0)
              + (trustManager != null ? 1 : 0)
              + (sslContext != null ? 1 : 0);
      if (trust > 1) {
        throw new IllegalArgumentException(
            "give at most one of trustedCertificates, trustManager and sslContext");
      }
      if (trustPem != null && !Files.isReadable(trustPem)) {
        throw new IllegalArgumentException("cannot read the PEM file " + trustPem);
      }
      if (ticker != null && scheduler != null && scheduler.ticker() != ticker) {
        throw new IllegalArgumentException("ticker must be the scheduler's ticker");
      }
      if (prewarm > 0 && baseUrl == null) {
        throw new IllegalArgumentException("prewarm needs a baseUrl");
      }
      return new LlmPool(this);
    }

    /** The options, without any credential. */
    @Override
    public String toString() {
      return "LlmPool.Builder{baseUrl="
          + (baseUrl == null ? null : Origin.of(baseUrl))
          + ", http2="
          + http2
          + ", limits="
          + limits
          + ", timeouts="
          + timeouts
          + "}";
    }
  }
}
