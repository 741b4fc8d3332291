package dev.llmpool.micrometer;

import static dev.llmpool.micrometer.Attributes.CLOSE_REASON;
import static dev.llmpool.micrometer.Attributes.CONNECTION_STATE;
import static dev.llmpool.micrometer.Attributes.ERROR_TYPE;
import static dev.llmpool.micrometer.Attributes.GEN_AI_OPERATION;
import static dev.llmpool.micrometer.Attributes.GEN_AI_PROVIDER;
import static dev.llmpool.micrometer.Attributes.GEN_AI_REQUEST_MODEL;
import static dev.llmpool.micrometer.Attributes.GEN_AI_RESPONSE_MODEL;
import static dev.llmpool.micrometer.Attributes.GEN_AI_SYSTEM;
import static dev.llmpool.micrometer.Attributes.GEN_AI_TOKEN_TYPE;
import static dev.llmpool.micrometer.Attributes.METHOD;
import static dev.llmpool.micrometer.Attributes.OTHER;
import static dev.llmpool.micrometer.Attributes.PROTOCOL_VERSION;
import static dev.llmpool.micrometer.Attributes.RATE_LIMIT_WINDOW;
import static dev.llmpool.micrometer.Attributes.REUSED;
import static dev.llmpool.micrometer.Attributes.SERVER_ADDRESS;
import static dev.llmpool.micrometer.Attributes.SERVER_PORT;
import static dev.llmpool.micrometer.Attributes.STATUS;

import dev.llmpool.EventListener;
import dev.llmpool.LlmPool;
import dev.llmpool.LlmPoolException;
import dev.llmpool.MetricsSink;
import dev.llmpool.Origin;
import dev.llmpool.PoolStats;
import dev.llmpool.llm.ChatObservation;
import dev.llmpool.llm.ChatObserver;
import dev.llmpool.llm.RateLimits;
import dev.llmpool.llm.Usage;
import io.micrometer.core.instrument.Clock;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.MeterBinder;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.ToDoubleFunction;
import org.jspecify.annotations.Nullable;

/**
 * Micrometer metrics for one {@link LlmPool}, named after the OpenTelemetry HTTP client semantic
 * conventions ({@code http.client.*}) and GenAI semantic conventions ({@code gen_ai.client.*}, fed
 * by the pool's chat clients), plus llmpool's own pool figures ({@code llmpool.*}). Attach it when
 * building the pool; it is also a {@link MeterBinder}, for frameworks that bind binders to their
 * registry:
 *
 * <pre>{@code
 * LlmPoolMetrics metrics = new LlmPoolMetrics(meterRegistry);
 * LlmPool pool = LlmPool.builder().baseUrl("https://api.openai.com/v1").metrics(metrics).build();
 * }</pre>
 *
 * <p>One instance reports one pool (a second pool is refused at build time: give each pool its own,
 * told apart by a tag, {@code LlmPoolMetrics.builder().tags("pool", "openai")}). It may be bound to
 * its registry before or after the pool is built. When the pool closes, its meters are removed from
 * the registry.
 *
 * <p><b>Cardinality.</b> Every tag value comes from a fixed set (methods, status codes, error
 * types, close reasons, protocol versions, providers) or from the pool's origins and model names,
 * both capped: origins at {@link Builder#maxOrigins(int)} (default {@value #DEFAULT_MAX_ORIGINS}),
 * calls to further origins being recorded under {@code server.address=_OTHER}; model names at
 * {@link Builder#maxModels(int)} (default {@value #DEFAULT_MAX_MODELS}), further ones under {@code
 * gen_ai.request.model=_OTHER}. No tag carries a path, a query, a header value, a key or a prompt.
 *
 * <p>The meters, their units and tags are listed in {@code docs/observability.md}. Thread-safe.
 */
public final class LlmPoolMetrics implements MeterBinder, MetricsSink {
  /** Origins with their own tags; calls to others are counted under {@code _OTHER}. */
  public static final int DEFAULT_MAX_ORIGINS = 16;

  /** Model names with their own tag values; further ones are counted under {@code _OTHER}. */
  public static final int DEFAULT_MAX_MODELS = 20;

  /** How long one stats snapshot serves the gauges of one scrape. */
  private static final long SNAPSHOT_NANOS = TimeUnit.MILLISECONDS.toNanos(100);

  /** OpenTelemetry's advised buckets for HTTP durations, plus longer ones for LLM calls. */
  private static final Duration[] REQUEST_BUCKETS =
      seconds(
          0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 30, 60, 120,
          300);

  private static final Duration[] WAIT_BUCKETS =
      seconds(0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30);

  private static final Duration[] CONNECTION_BUCKETS = seconds(1, 10, 30, 60, 300, 600, 1800, 3600);

  /** OpenTelemetry's advised buckets for {@code gen_ai.client.operation.duration}. */
  private static final Duration[] OPERATION_BUCKETS =
      seconds(
          0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92);

  /** OpenTelemetry's advised buckets for {@code gen_ai.client.operation.time_to_first_chunk}. */
  private static final Duration[] FIRST_CHUNK_BUCKETS =
      seconds(
          0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5,
          10.0);

  /** OpenTelemetry's advised buckets for {@code gen_ai.client.token.usage}. */
  private static final double[] TOKEN_BUCKETS = {
    1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864
  };

  private final Tags tags;
  private final int maxOrigins;
  private final Clock clock;
  private final Listener listener = new Listener();
  private final Chats chats = new Chats();
  private final Attributes.ModelNames models;

  // Written under lock, read anywhere.
  private final Object lock = new Object();
  private volatile @Nullable MeterRegistry registry;
  private volatile @Nullable LlmPool pool;
  private volatile boolean closed;
  private final List<Meter> meters = new CopyOnWriteArrayList<>();

  private final ConcurrentHashMap<Origin, OriginMeters> origins = new ConcurrentHashMap<>();
  private final OriginMeters overflow;
  private final ConcurrentHashMap<EventListener.CallInfo, CallState> calls =
      new ConcurrentHashMap<>();
  private final ConcurrentHashMap<RequestKey, Timer> requestTimers = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<ChatKey, ChatMeters> chatMeters = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<RateKey, RateWindow> rateWindows = new ConcurrentHashMap<>();

  // The gauges' shared snapshot: one pool.stats() per scrape rather than one per gauge.
  private volatile @Nullable Snapshot snapshot;

  /** Metrics with the defaults, bound to {@code registry}. */
  public LlmPoolMetrics(MeterRegistry registry) {
    this(builder());
    bindTo(registry);
  }

  /** Metrics with the defaults, to be bound with {@link #bindTo(MeterRegistry)}. */
  public LlmPoolMetrics() {
    this(builder());
  }

  private LlmPoolMetrics(Builder b) {
    this.tags = b.tags;
    this.maxOrigins = b.maxOrigins;
    this.clock = b.clock;
    this.models = new Attributes.ModelNames(b.maxModels);
    this.overflow = new OriginMeters(null);
  }

  /** A builder, for extra tags, the origin cap or a clock. */
  public static Builder builder() {
    return new Builder();
  }

  // ---- MeterBinder ----

  /**
   * Registers the meters in {@code registry}. One registry per instance (bind a {@code
   * CompositeMeterRegistry} to report to several); binding the same one again does nothing.
   *
   * @throws IllegalStateException when already bound to another registry
   */
  @Override
  public void bindTo(MeterRegistry registry) {
    Objects.requireNonNull(registry, "registry");
    synchronized (lock) {
      MeterRegistry current = this.registry;
      if (current == registry) {
        return;
      }
      if (current != null) {
        throw new IllegalStateException(
            "LlmPoolMetrics is bound to one registry; bind a CompositeMeterRegistry to report to"
                + " several");
      }
      this.registry = registry;
      registerPoolMeters(registry);
      for (OriginMeters o : origins.values()) {
        o.register(registry);
      }
      if (overflow.used) {
        overflow.register(registry);
      }
      for (RateWindow w : rateWindows.values()) {
        w.register(registry);
      }
    }
  }

  // ---- MetricsSink ----

  /**
   * @throws IllegalStateException when this instance already reports another pool
   */
  @Override
  public void poolStarted(LlmPool pool) {
    synchronized (lock) {
      LlmPool current = this.pool;
      if (current != null && current != pool) {
        throw new IllegalStateException(
            "this LlmPoolMetrics already reports "
                + current
                + "; make one LlmPoolMetrics per pool (tell them apart with"
                + " LlmPoolMetrics.builder().tags(\"pool\", name))");
      }
      this.pool = pool;
    }
  }

  @Override
  public void poolClosed(LlmPool pool) {
    synchronized (lock) {
      if (this.pool != pool) {
        return;
      }
      closed = true;
      MeterRegistry r = registry;
      if (r != null) {
        for (Meter m : meters) {
          r.remove(m);
        }
      }
      meters.clear();
      calls.clear();
      requestTimers.clear();
      chatMeters.clear();
      rateWindows.clear();
    }
  }

  @Override
  public EventListener eventListener() {
    return listener;
  }

  /**
   * Records every chat call of the pool ({@code openAiChat}, {@code anthropicMessages}) under the
   * OpenTelemetry GenAI names: token usage, operation duration, time to first chunk (streams), and
   * llmpool's rate-limit gauges.
   */
  @Override
  public ChatObserver chatObserver() {
    return chats;
  }

  @Override
  public boolean wantsConnectionEvents() {
    return true;
  }

  @Override
  public void connectionOpened(EventListener.ConnectionInfo connection) {
    meters(connection.origin()).protocolSeen(Attributes.protocolVersion(connection.protocol()));
  }

  @Override
  public void connectionClosed(EventListener.ConnectionInfo connection, long lifetimeNanos) {
    Timer t =
        meters(connection.origin())
            .connectionDuration(Attributes.protocolVersion(connection.protocol()));
    if (t != null) {
      t.record(lifetimeNanos, TimeUnit.NANOSECONDS);
    }
  }

  // ---- Meters ----

  private void registerPoolMeters(MeterRegistry r) {
    gauge(
        r,
        "llmpool.pool.utilization",
        tags,
        "Active connections over maxConnections, 1 when calls wait at the limit",
        null,
        s -> s.utilization());
    gauge(
        r,
        "llmpool.pool.connections.max",
        tags,
        "The pool's limit on connections to all origins (limits.maxConnections)",
        "connections",
        s -> s.limit());
    functionCounter(
        r,
        "llmpool.pool.utilization.warnings",
        tags,
        "Utilization warnings logged (utilization sustained above the threshold)",
        s -> s.utilizationWarnings());
  }

  private void gauge(
      MeterRegistry r,
      String name,
      Iterable<Tag> t,
      String description,
      @Nullable String unit,
      ToDoubleFunction<PoolStats> f) {
    meters.add(
        Gauge.builder(
                name,
                this,
                m -> {
                  PoolStats s = m.stats();
                  return s == null ? Double.NaN : f.applyAsDouble(s);
                })
            .tags(t)
            .description(description)
            .baseUnit(unit)
            .strongReference(true)
            .register(r));
  }

  private void functionCounter(
      MeterRegistry r,
      String name,
      Iterable<Tag> t,
      String description,
      ToDoubleFunction<PoolStats> f) {
    meters.add(
        FunctionCounter.builder(
                name,
                this,
                m -> {
                  PoolStats s = m.stats();
                  return s == null ? 0 : f.applyAsDouble(s);
                })
            .tags(t)
            .description(description)
            .register(r));
  }

  /** A recent snapshot of the pool (at most 100 ms old), or null before the pool started. */
  @Nullable PoolStats stats() {
    LlmPool p = pool;
    if (p == null) {
      return null;
    }
    long now = clock.monotonicTime();
    Snapshot s = snapshot;
    if (s == null || now - s.takenAt > SNAPSHOT_NANOS || now < s.takenAt) {
      s = new Snapshot(p.stats(), now);
      snapshot = s;
    }
    return s.stats;
  }

  private record Snapshot(PoolStats stats, long takenAt) {}

  /** The meters of {@code origin}, or the shared {@code _OTHER} ones beyond the cap. */
  OriginMeters meters(Origin origin) {
    OriginMeters m = origins.get(origin);
    if (m != null) {
      return m;
    }
    synchronized (lock) {
      m = origins.get(origin);
      if (m != null) {
        return m;
      }
      if (origins.size() >= maxOrigins) {
        if (!overflow.used) {
          overflow.used = true;
          MeterRegistry r = registry;
          if (r != null && !closed) {
            overflow.register(r);
          }
        }
        return overflow;
      }
      m = new OriginMeters(origin);
      origins.put(origin, m);
      MeterRegistry r = registry;
      if (r != null && !closed) {
        m.register(r);
      }
      return m;
    }
  }

  /**
   * One origin's meters. The stats-based ones (connections, waits, counters) are registered with
   * the origin; those with further tags (per protocol, per method) when first needed. The overflow
   * instance ({@code origin} null) has only the event-based ones.
   */
  final class OriginMeters {
    final @Nullable Origin origin;
    final Tags serverTags;
    final LongAdder acquires = new LongAdder();
    final LongAdder reusedAcquires = new LongAdder();
    final ConcurrentHashMap<String, AtomicInteger> active = new ConcurrentHashMap<>();
    final ConcurrentHashMap<String, Timer> connectionDurations = new ConcurrentHashMap<>();
    final ConcurrentHashMap<String, Boolean> protocols = new ConcurrentHashMap<>();

    // Guarded by lock: the overflow instance is registered only once some call needs it.
    boolean used;

    // Set when registered; read anywhere.
    volatile @Nullable Timer waits;
    volatile @Nullable Counter reusedCounter;
    volatile @Nullable Counter newCounter;

    OriginMeters(@Nullable Origin origin) {
      this.origin = origin;
      this.serverTags =
          origin == null
              ? tags.and(SERVER_ADDRESS, OTHER, SERVER_PORT, OTHER)
              : tags.and(
                  SERVER_ADDRESS, origin.host(), SERVER_PORT, Integer.toString(origin.port()));
    }

    /** Registers this origin's fixed meters; called under {@code lock}. */
    void register(MeterRegistry r) {
      waits =
          add(
              Timer.builder("llmpool.pool.wait.duration")
                  .description(
                      "Time a call waited for a connection or an HTTP/2 stream slot (a new"
                          + " connection's set-up included)")
                  .tags(serverTags)
                  .serviceLevelObjectives(WAIT_BUCKETS)
                  .register(r));
      reusedCounter =
          add(
              Counter.builder("llmpool.pool.acquires")
                  .description("Connections (or stream slots) given to calls")
                  .tags(serverTags)
                  .tag(REUSED, "true")
                  .register(r));
      newCounter =
          add(
              Counter.builder("llmpool.pool.acquires")
                  .description("Connections (or stream slots) given to calls")
                  .tags(serverTags)
                  .tag(REUSED, "false")
                  .register(r));
      add(
          Gauge.builder(
                  "llmpool.pool.reuse.ratio",
                  this,
                  o -> {
                    double n = o.acquires.sum();
                    return n == 0 ? Double.NaN : o.reusedAcquires.sum() / n;
                  })
              .description("Share of calls that ran on an already used connection")
              .tags(serverTags)
              .strongReference(true)
              .register(r));
      for (String method : active.keySet()) {
        registerActive(r, method);
      }
      for (String version : protocols.keySet()) {
        registerProtocol(r, version);
      }
      Origin o = origin;
      if (o == null) {
        return;
      }
      originGauge(
          r, "llmpool.pool.pending", "Calls waiting for a connection", null, s -> s.pending());
      originGauge(
          r,
          "llmpool.pool.connecting",
          "Connections being opened (DNS, TCP, TLS, HTTP/2 preface)",
          "connections",
          s -> s.connecting());
      originCounter(
          r,
          "llmpool.pool.timeouts",
          "Calls that failed with PoolTimeoutException (no connection within timeouts.pool)",
          s -> s.acquireTimeouts());
      originCounter(
          r,
          "llmpool.pool.rejected",
          "Calls refused at once with PoolFullException (maxPendingAcquires calls waiting)",
          s -> s.rejected());
      originCounter(r, "llmpool.connections.opened", "Connections opened", s -> s.opened());
      originCounter(
          r,
          "llmpool.connections.failed",
          "Connection attempts that failed (DNS, TCP, TLS)",
          s -> s.connectFailures());
      for (PoolStats.CloseReason reason : PoolStats.CloseReason.values()) {
        meters.add(
            FunctionCounter.builder(
                    "llmpool.connections.closed",
                    this,
                    m -> {
                      PoolStats s = m.stats();
                      return s == null ? 0 : s.closed(reason);
                    })
                .description("Connections closed, by reason")
                .tags(serverTags)
                .tag(CLOSE_REASON, reason.label())
                .register(r));
      }
    }

    private <M extends Meter> M add(M meter) {
      meters.add(meter);
      return meter;
    }

    /** This origin's snapshot, or null. */
    @Nullable PoolStats stats() {
      PoolStats all = LlmPoolMetrics.this.stats();
      Origin o = origin;
      return all == null || o == null ? null : all.forOrigin(o);
    }

    private void originGauge(
        MeterRegistry r,
        String name,
        String description,
        @Nullable String unit,
        ToDoubleFunction<PoolStats> f) {
      add(
          Gauge.builder(
                  name,
                  this,
                  m -> {
                    PoolStats s = m.stats();
                    return s == null ? 0 : f.applyAsDouble(s);
                  })
              .description(description)
              .tags(serverTags)
              .baseUnit(unit)
              .strongReference(true)
              .register(r));
    }

    private void originCounter(
        MeterRegistry r, String name, String description, ToDoubleFunction<PoolStats> f) {
      add(
          FunctionCounter.builder(
                  name,
                  this,
                  m -> {
                    PoolStats s = m.stats();
                    return s == null ? 0 : f.applyAsDouble(s);
                  })
              .description(description)
              .tags(serverTags)
              .register(r));
    }

    /** A connection of this protocol version opened: its open-connections gauges exist. */
    void protocolSeen(String version) {
      if (version.isEmpty() || protocols.putIfAbsent(version, Boolean.TRUE) != null) {
        return;
      }
      synchronized (lock) {
        MeterRegistry r = registry;
        if (r != null && !closed) {
          registerProtocol(r, version);
        }
      }
    }

    private void registerProtocol(MeterRegistry r, String version) {
      if (origin == null) {
        return;
      }
      for (String state : new String[] {"active", "idle"}) {
        boolean isActive = state.equals("active");
        add(
            Gauge.builder(
                    "http.client.open_connections",
                    this,
                    m -> {
                      PoolStats s = m.stats();
                      // An origin's connections are counted under its current protocol.
                      if (s == null || !version.equals(Attributes.protocolVersion(s.protocol()))) {
                        return 0;
                      }
                      return isActive ? s.active() : s.idle();
                    })
                .description(
                    "Number of outbound HTTP connections that are currently active or idle on the"
                        + " client")
                .tags(serverTags)
                .tag(CONNECTION_STATE, state)
                .tag(PROTOCOL_VERSION, version)
                .baseUnit("connections")
                .strongReference(true)
                .register(r));
      }
    }

    /** The connection-duration timer of a protocol version, or null when not bound. */
    @Nullable Timer connectionDuration(String version) {
      protocolSeen(version);
      Timer t = connectionDurations.get(version);
      if (t != null) {
        return t;
      }
      synchronized (lock) {
        MeterRegistry r = registry;
        if (r == null || closed) {
          return null;
        }
        return connectionDurations.computeIfAbsent(
            version,
            v ->
                add(
                    Timer.builder("http.client.connection.duration")
                        .description(
                            "The duration of the successfully established outbound HTTP"
                                + " connections")
                        .tags(serverTags)
                        .tag(PROTOCOL_VERSION, v)
                        .serviceLevelObjectives(CONNECTION_BUCKETS)
                        .register(r)));
      }
    }

    /** The active-requests counter of a method, its gauge registered on first use. */
    AtomicInteger active(String method) {
      AtomicInteger n = active.get(method);
      if (n != null) {
        return n;
      }
      synchronized (lock) {
        n = active.get(method);
        if (n == null) {
          n = new AtomicInteger();
          active.put(method, n);
          MeterRegistry r = registry;
          if (r != null && !closed) {
            registerActive(r, method);
          }
        }
        return n;
      }
    }

    private void registerActive(MeterRegistry r, String method) {
      AtomicInteger n = active.get(method);
      if (n == null) {
        return;
      }
      add(
          Gauge.builder("http.client.active_requests", n, AtomicInteger::get)
              .description("Number of active HTTP requests")
              .tags(serverTags)
              .tag(METHOD, method)
              .baseUnit("requests")
              .strongReference(true)
              .register(r));
    }

    void acquired(boolean reused, long waitedNanos) {
      acquires.increment();
      if (reused) {
        reusedAcquires.increment();
      }
      Counter c = reused ? reusedCounter : newCounter;
      if (c != null) {
        c.increment();
      }
      Timer w = waits;
      if (w != null) {
        w.record(waitedNanos, TimeUnit.NANOSECONDS);
      }
    }
  }

  // ---- GenAI ----

  /** The tags every GenAI meter of one kind of call carries (the origin by its meters). */
  private record ChatKey(
      OriginMeters meters,
      String provider,
      String operation,
      String requestModel,
      String responseModel,
      String errorType) {

    Tags tags() {
      return meters.serverTags.and(
          GEN_AI_OPERATION,
          operation,
          GEN_AI_PROVIDER,
          provider,
          GEN_AI_SYSTEM,
          provider,
          GEN_AI_REQUEST_MODEL,
          requestModel,
          GEN_AI_RESPONSE_MODEL,
          responseModel,
          ERROR_TYPE,
          errorType);
    }
  }

  /**
   * The GenAI meters of one {@link ChatKey}: the duration timer at once, the others when first
   * needed (token usage only comes with successes, time to first chunk only with streams).
   */
  private final class ChatMeters {
    final ChatKey key;
    final Timer duration;
    volatile @Nullable DistributionSummary inputTokens;
    volatile @Nullable DistributionSummary outputTokens;
    volatile @Nullable Timer firstChunk;

    ChatMeters(ChatKey key, Timer duration) {
      this.key = key;
      this.duration = duration;
    }

    void tokens(Usage u) {
      DistributionSummary in = inputTokens;
      DistributionSummary out = outputTokens;
      if (in == null || out == null) {
        synchronized (lock) {
          MeterRegistry r = registry;
          if (r == null || closed) {
            return;
          }
          if (inputTokens == null) {
            inputTokens = tokenSummary(r, "input");
            outputTokens = tokenSummary(r, "output");
          }
          in = Objects.requireNonNull(inputTokens);
          out = Objects.requireNonNull(outputTokens);
        }
      }
      in.record((double) u.inputTokens());
      out.record((double) u.outputTokens());
    }

    private DistributionSummary tokenSummary(MeterRegistry r, String type) {
      // error.type is left off: OpenTelemetry does not define it for token usage (only successes
      // report usage).
      Tags t = Tags.empty();
      for (Tag tag : key.tags()) {
        if (!tag.getKey().equals(ERROR_TYPE)) {
          t = t.and(tag);
        }
      }
      DistributionSummary d =
          DistributionSummary.builder("gen_ai.client.token.usage")
              .description("Number of input and output tokens used")
              .baseUnit("tokens")
              .tags(t)
              .tag(GEN_AI_TOKEN_TYPE, type)
              .serviceLevelObjectives(TOKEN_BUCKETS)
              .register(r);
      meters.add(d);
      return d;
    }

    void firstChunk(Duration d) {
      Timer t = firstChunk;
      if (t == null) {
        synchronized (lock) {
          MeterRegistry r = registry;
          if (r == null || closed) {
            return;
          }
          t = firstChunk;
          if (t == null) {
            t =
                Timer.builder("gen_ai.client.operation.time_to_first_chunk")
                    .description(
                        "Time from the start of a streamed call to its first output chunk (text,"
                            + " reasoning or a tool call)")
                    .tags(key.tags())
                    .serviceLevelObjectives(FIRST_CHUNK_BUCKETS)
                    .register(r);
            meters.add(t);
            firstChunk = t;
          }
        }
      }
      t.record(d);
    }
  }

  /** One rate-limit window of one provider, origin and model. */
  private record RateKey(OriginMeters meters, String provider, String model, String window) {}

  /**
   * The last rate-limit figures the provider stated for one {@link RateKey}; {@link Long#MIN_VALUE}
   * while unknown (the gauge then reads NaN).
   */
  private final class RateWindow {
    final RateKey key;
    final AtomicLong remaining = new AtomicLong(Long.MIN_VALUE);
    final AtomicLong limit = new AtomicLong(Long.MIN_VALUE);

    // Guarded by lock.
    boolean registered;

    RateWindow(RateKey key) {
      this.key = key;
    }

    /** Registers the gauges once; called under {@code lock}. */
    void register(MeterRegistry r) {
      if (registered || closed) {
        return;
      }
      registered = true;
      Tags t =
          key.meters()
              .serverTags
              .and(
                  GEN_AI_PROVIDER,
                  key.provider(),
                  GEN_AI_SYSTEM,
                  key.provider(),
                  GEN_AI_REQUEST_MODEL,
                  key.model(),
                  RATE_LIMIT_WINDOW,
                  key.window());
      meters.add(
          Gauge.builder("llmpool.llm.rate_limit.remaining", remaining, RateWindow::value)
              .description(
                  "Requests or tokens left in the provider's rate-limit window, as its last"
                      + " response said")
              .tags(t)
              .strongReference(true)
              .register(r));
      meters.add(
          Gauge.builder("llmpool.llm.rate_limit.limit", limit, RateWindow::value)
              .description(
                  "The size of the provider's rate-limit window, as its last response said")
              .tags(t)
              .strongReference(true)
              .register(r));
    }

    private static double value(AtomicLong v) {
      long n = v.get();
      return n == Long.MIN_VALUE ? Double.NaN : n;
    }
  }

  /** Turns chat observations into GenAI meters. */
  private final class Chats implements ChatObserver {
    @Override
    public void chatEnded(ChatObservation o) {
      if (closed) {
        return;
      }
      OriginMeters m = meters(o.server());
      String provider = Attributes.provider(o.provider());
      String requestModel = models.of(o.requestModel());
      ChatMeters c =
          chatMeters(
              new ChatKey(
                  m,
                  provider,
                  Attributes.operation(o.operation()),
                  requestModel,
                  models.of(o.responseModel()),
                  Attributes.chatErrorType(o.error())));
      if (c != null) {
        c.duration.record(o.duration());
        Usage u = o.usage();
        if (u != null) {
          c.tokens(u);
        }
        Duration first = o.timeToFirstChunk();
        if (first != null) {
          c.firstChunk(first);
        }
      }
      RateLimits limits = o.rateLimits();
      if (!limits.isEmpty()) {
        rate(m, provider, requestModel, "requests", limits.requests());
        rate(m, provider, requestModel, "tokens", limits.tokens());
        rate(m, provider, requestModel, "input_tokens", limits.inputTokens());
        rate(m, provider, requestModel, "output_tokens", limits.outputTokens());
      }
    }

    private void rate(
        OriginMeters m, String provider, String model, String window, RateLimits.Window w) {
      if (w.isEmpty()) {
        return;
      }
      RateKey key = new RateKey(m, provider, model, window);
      RateWindow rw = rateWindows.get(key);
      if (rw == null) {
        synchronized (lock) {
          if (closed) {
            return;
          }
          rw = rateWindows.computeIfAbsent(key, RateWindow::new);
          MeterRegistry r = registry;
          if (r != null) {
            rw.register(r);
          }
        }
      }
      rw.remaining.set(w.remaining().orElse(Long.MIN_VALUE));
      rw.limit.set(w.limit().orElse(Long.MIN_VALUE));
    }
  }

  /** The GenAI meters of these attributes, registered on first use; null when not bound. */
  private @Nullable ChatMeters chatMeters(ChatKey key) {
    ChatMeters c = chatMeters.get(key);
    if (c != null) {
      return c;
    }
    synchronized (lock) {
      MeterRegistry r = registry;
      if (r == null || closed) {
        return null;
      }
      c = chatMeters.get(key);
      if (c == null) {
        Tags t = key.tags();
        Timer duration =
            Timer.builder("gen_ai.client.operation.duration")
                .description("Duration of GenAI calls, retries and waits included")
                .tags(t)
                .serviceLevelObjectives(OPERATION_BUCKETS)
                .register(r);
        meters.add(duration);
        c = new ChatMeters(key, duration);
        chatMeters.put(key, c);
      }
      return c;
    }
  }

  /** The request-duration timer for these attributes, registered on first use. */
  private @Nullable Timer requestTimer(RequestKey key) {
    Timer t = requestTimers.get(key);
    if (t != null) {
      return t;
    }
    synchronized (lock) {
      MeterRegistry r = registry;
      if (r == null || closed) {
        return null;
      }
      t = requestTimers.get(key);
      if (t == null) {
        t =
            Timer.builder("http.client.request.duration")
                .description("Duration of HTTP client requests")
                .tags(key.meters().serverTags)
                .tag(METHOD, key.method())
                .tag(STATUS, key.status())
                .tag(ERROR_TYPE, key.errorType())
                .tag(PROTOCOL_VERSION, key.version())
                .serviceLevelObjectives(REQUEST_BUCKETS)
                .register(r);
        meters.add(t);
        requestTimers.put(key, t);
      }
      return t;
    }
  }

  /** The tags of one request-duration timer (the origin by its meters' identity). */
  private record RequestKey(
      OriginMeters meters, String method, String status, String errorType, String version) {}

  /** What is known of a call in flight. */
  private static final class CallState {
    final OriginMeters meters;
    final String method;
    final long startNanos;
    final AtomicInteger active;
    volatile int status;
    volatile @Nullable String protocol;

    CallState(OriginMeters meters, String method, long startNanos, AtomicInteger active) {
      this.meters = meters;
      this.method = method;
      this.startNanos = startNanos;
      this.active = active;
    }
  }

  /** Turns call events into request metrics. */
  private final class Listener implements EventListener {
    @Override
    public void callStart(CallInfo call) {
      if (closed) {
        return;
      }
      OriginMeters m = meters(call.origin());
      String method = Attributes.method(call.method());
      AtomicInteger active = m.active(method);
      active.incrementAndGet();
      calls.put(call, new CallState(m, method, clock.monotonicTime(), active));
    }

    @Override
    public void connectionAcquired(
        CallInfo call, ConnectionInfo connection, boolean reused, long waitedNanos) {
      CallState s = calls.get(call);
      OriginMeters m = s != null ? s.meters : meters(call.origin());
      if (s != null) {
        s.protocol = connection.protocol();
      }
      m.acquired(reused, waitedNanos);
    }

    @Override
    public void responseHeadersEnd(CallInfo call, int status) {
      CallState s = calls.get(call);
      if (s != null) {
        s.status = status;
      }
    }

    @Override
    public void callEnd(CallInfo call) {
      end(call, null);
    }

    @Override
    public void callFailed(CallInfo call, LlmPoolException error) {
      end(call, error);
    }

    private void end(CallInfo call, @Nullable LlmPoolException error) {
      CallState s = calls.remove(call);
      if (s == null) {
        return;
      }
      long elapsed = clock.monotonicTime() - s.startNanos;
      Timer t =
          requestTimer(
              new RequestKey(
                  s.meters,
                  s.method,
                  Attributes.status(s.status),
                  Attributes.errorType(s.status, error),
                  Attributes.protocolVersion(s.protocol)));
      if (t != null) {
        t.record(Math.max(0, elapsed), TimeUnit.NANOSECONDS);
      }
      s.active.decrementAndGet(); // last: the call is counted in the timer once it is not active
    }
  }

  private static Duration[] seconds(double... values) {
    Duration[] d = new Duration[values.length];
    for (int i = 0; i < values.length; i++) {
      d[i] = Duration.ofNanos((long) (values[i] * 1e9));
    }
    return d;
  }

  /** Configures {@link LlmPoolMetrics}. */
  public static final class Builder {
    private Tags tags = Tags.empty();
    private int maxOrigins = DEFAULT_MAX_ORIGINS;
    private int maxModels = DEFAULT_MAX_MODELS;
    private Clock clock = Clock.SYSTEM;

    private Builder() {}

    /** Tags added to every meter, e.g. to tell two pools apart. */
    public Builder tags(Iterable<Tag> t) {
      this.tags = this.tags.and(Objects.requireNonNull(t, "tags"));
      return this;
    }

    /** Tags added to every meter, as key-value pairs: {@code tags("pool", "openai")}. */
    public Builder tags(String... keyValues) {
      this.tags = this.tags.and(keyValues);
      return this;
    }

    /**
     * Origins that get their own {@code server.address}/{@code server.port}; calls to further
     * origins are recorded under {@code _OTHER}. Default {@value
     * LlmPoolMetrics#DEFAULT_MAX_ORIGINS}.
     */
    public Builder maxOrigins(int n) {
      if (n < 1) {
        throw new IllegalArgumentException("maxOrigins must be at least 1, got " + n);
      }
      this.maxOrigins = n;
      return this;
    }

    /**
     * Model names that get their own {@code gen_ai.request.model}/{@code gen_ai.response.model}
     * values; further ones are recorded under {@code _OTHER}. Default {@value
     * LlmPoolMetrics#DEFAULT_MAX_MODELS}.
     */
    public Builder maxModels(int n) {
      if (n < 1) {
        throw new IllegalArgumentException("maxModels must be at least 1, got " + n);
      }
      this.maxModels = n;
      return this;
    }

    /** The clock durations are measured on; default {@link Clock#SYSTEM}. */
    public Builder clock(Clock c) {
      this.clock = Objects.requireNonNull(c, "clock");
      return this;
    }

    /** Metrics to be bound with {@link LlmPoolMetrics#bindTo(MeterRegistry)}. */
    public LlmPoolMetrics build() {
      return new LlmPoolMetrics(this);
    }

    /** Metrics bound to {@code registry}. */
    public LlmPoolMetrics bindTo(MeterRegistry registry) {
      LlmPoolMetrics m = build();
      m.bindTo(registry);
      return m;
    }
  }
}
