package dev.llmpool.micrometer;

import static dev.llmpool.micrometer.Attributes.CLOSE_REASON;
import static dev.llmpool.micrometer.Attributes.CONNECTION_STATE;
import static dev.llmpool.micrometer.Attributes.ERROR_TYPE;
import static dev.llmpool.micrometer.Attributes.METHOD;
import static dev.llmpool.micrometer.Attributes.OTHER;
import static dev.llmpool.micrometer.Attributes.PROTOCOL_VERSION;
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
import io.micrometer.core.instrument.Clock;
import io.micrometer.core.instrument.Counter;
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
import java.util.concurrent.atomic.LongAdder;
import java.util.function.ToDoubleFunction;
import org.jspecify.annotations.Nullable;

/**
 * Micrometer metrics for one {@link LlmPool}, named after the OpenTelemetry HTTP client semantic
 * conventions ({@code http.client.*}) plus llmpool's own pool figures ({@code llmpool.*}). Attach
 * it when building the pool; it is also a {@link MeterBinder}, for frameworks that bind binders to
 * their registry:
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
 * types, close reasons, protocol versions) or from the pool's origins, which are few by nature and
 * capped at {@link Builder#maxOrigins(int)} (default {@value #DEFAULT_MAX_ORIGINS}): calls to
 * further origins are recorded under {@code server.address=_OTHER}. No tag carries a path, a query,
 * a header value, a key or a prompt.
 *
 * <p>The meters, their units and tags are listed in {@code docs/observability.md}. Thread-safe.
 */
public final class LlmPoolMetrics implements MeterBinder, MetricsSink {
  /** Origins with their own tags; calls to others are counted under {@code _OTHER}. */
  public static final int DEFAULT_MAX_ORIGINS = 16;

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

  private final Tags tags;
  private final int maxOrigins;
  private final Clock clock;
  private final Listener listener = new Listener();

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
    }
  }

  @Override
  public EventListener eventListener() {
    return listener;
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
