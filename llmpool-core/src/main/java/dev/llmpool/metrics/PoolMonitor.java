package dev.llmpool.metrics;

import dev.llmpool.Limits;
import dev.llmpool.Origin;
import dev.llmpool.PoolStats;
import dev.llmpool.PoolWarnings;
import dev.llmpool.Timeouts;
import dev.llmpool.pool.PoolObserver;
import dev.llmpool.time.Scheduler;
import dev.llmpool.time.Ticker;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Predicate;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;

/**
 * Watches a pool's health from its statistics: logs one utilization warning when utilization stays
 * high (with hysteresis), summarises pool timeouts and rejections at most once per interval, keeps
 * the peak utilization, and adds what the pool core does not know (protocol per origin, transport,
 * TLS, peaks, warnings) to its snapshots.
 *
 * <p>It never touches a call's path: it samples {@code stats()} on the pool's scheduler (once a
 * second by default, see {@link PoolWarnings#sampleInterval()}), and hears only connection opens
 * through {@link PoolObserver} (to learn each origin's protocol).
 *
 * <p>Threading: {@link #sample()} runs on the scheduler, one run at a time (each run schedules the
 * next), and owns the fields of each {@link Watch} except {@code peak} and {@code warnings}, which
 * it publishes through volatile writes for {@link #enrich} (any thread). {@code task} and {@code
 * stopped} are guarded by {@code this}.
 */
public final class PoolMonitor implements PoolObserver {
  static final String HTTP_1_1 = "HTTP/1.1";
  static final String HTTP_2 = "HTTP/2";

  /** Not in a run of high samples; no summary logged yet. */
  private static final long NEVER = Long.MIN_VALUE;

  private final Supplier<PoolStats> source;
  private final Scheduler scheduler;
  private final Ticker ticker;
  private final PoolWarnings settings;
  private final Limits limits;
  private final Timeouts timeouts;
  private final Predicate<Origin> http2Offered;
  private final Logger log;
  private final @Nullable String ioTransport;
  private final @Nullable String tlsProvider;
  private final long sampleNanos;
  private final long sustainedNanos;
  private final long summaryNanos;
  private final long startNanos;

  private final Watch whole = new Watch(null);
  private final ConcurrentHashMap<Origin, Watch> byOrigin = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<Origin, String> protocols = new ConcurrentHashMap<>();

  // Guarded by this.
  private Scheduler.@Nullable Cancellable task;
  private boolean stopped;

  /**
   * @param source the pool core's snapshots
   * @param http2Offered whether the transport offers (or assumes) HTTP/2 to an origin: ALPN h2 for
   *     TLS, prior knowledge for h2c; false when HTTP/2 is turned off for it
   * @param log where warnings go
   */
  public PoolMonitor(
      Supplier<PoolStats> source,
      Scheduler scheduler,
      PoolWarnings settings,
      Limits limits,
      Timeouts timeouts,
      Predicate<Origin> http2Offered,
      Logger log,
      @Nullable String ioTransport,
      @Nullable String tlsProvider) {
    this.source = source;
    this.scheduler = scheduler;
    this.ticker = scheduler.ticker();
    this.settings = settings;
    this.limits = limits;
    this.timeouts = timeouts;
    this.http2Offered = http2Offered;
    this.log = log;
    this.ioTransport = ioTransport;
    this.tlsProvider = tlsProvider;
    this.sampleNanos = settings.sampleInterval().toNanos();
    this.sustainedNanos = settings.sustainedFor().toNanos();
    this.summaryNanos = settings.failureSummaryInterval().toNanos();
    this.startNanos = ticker.nanoTime();
  }

  /** Starts sampling (nothing when warnings are off). */
  public synchronized void start() {
    if (settings.enabled() && !stopped && task == null) {
      task = scheduler.schedule(this::sample, sampleNanos);
    }
  }

  /** Stops sampling for good. */
  public void stop() {
    Scheduler.Cancellable t;
    synchronized (this) {
      stopped = true;
      t = task;
      task = null;
    }
    if (t != null) {
      t.cancel();
    }
  }

  // ---- PoolObserver ----

  @Override
  public void connectionOpened(Origin origin, boolean multiplexed) {
    String p = multiplexed ? HTTP_2 : HTTP_1_1;
    if (!p.equals(protocols.get(origin))) {
      protocols.put(origin, p);
    }
  }

  /** The protocol of {@code origin}'s newest connection, or null before the first. */
  public @Nullable String protocol(Origin origin) {
    return protocols.get(origin);
  }

  // ---- Sampling ----

  /** One sample: evaluates the warnings, then schedules the next. Runs on the scheduler. */
  void sample() {
    synchronized (this) {
      if (stopped) {
        return;
      }
    }
    try {
      evaluate(ticker.nanoTime(), source.get());
    } catch (RuntimeException e) {
      log.debug("pool health sample failed", e);
    }
    synchronized (this) {
      if (!stopped) {
        task = scheduler.schedule(this::sample, sampleNanos);
      }
    }
  }

  /** Evaluates one snapshot taken at {@code now}. */
  void evaluate(long now, PoolStats stats) {
    boolean perHost = limits.maxConnectionsPerHost() < limits.maxConnections();
    utilization(whole, stats, stats, now, true);
    for (PoolStats o : stats.byOrigin().values()) {
      Origin origin = o.origin();
      if (origin == null) {
        continue;
      }
      Watch w = byOrigin.computeIfAbsent(origin, Watch::new);
      // Per origin only when its own limit is tighter than the pool's: otherwise the origin's
      // utilization never exceeds the pool's, and one warning says it all.
      utilization(w, o, stats, now, perHost);
      failures(w, o, now);
    }
  }

  private void utilization(Watch w, PoolStats s, PoolStats whole, long now, boolean warn) {
    double u = s.utilization();
    if (u > w.peak) {
      w.peak = u;
    }
    if (!warn) {
      return;
    }
    if (u >= settings.utilizationThreshold()) {
      if (w.highSince == NEVER) {
        w.highSince = now;
      }
      if (w.armed && now - w.highSince >= sustainedNanos) {
        w.armed = false;
        w.warnings.incrementAndGet();
        log.warn(utilizationWarning(w.origin, s, whole, now - w.highSince));
      }
    } else {
      w.highSince = NEVER;
      if (u < settings.rearmBelow()) {
        w.armed = true;
      }
    }
  }

  private void failures(Watch w, PoolStats s, long now) {
    long timeouts = s.acquireTimeouts() - w.reportedTimeouts;
    long rejected = s.rejected() - w.reportedRejected;
    if (timeouts <= 0 && rejected <= 0) {
      return;
    }
    long since = w.summarizedAt == NEVER ? startNanos : w.summarizedAt;
    if (w.summarizedAt != NEVER && now - w.summarizedAt < summaryNanos) {
      return; // counted, reported when the interval is over
    }
    long connectFailures = s.connectFailures() - w.reportedConnectFailures;
    w.reportedTimeouts = s.acquireTimeouts();
    w.reportedRejected = s.rejected();
    w.reportedConnectFailures = s.connectFailures();
    w.summarizedAt = now;
    log.warn(failureSummary(s, timeouts, rejected, connectFailures, now - since));
  }

  // ---- Messages ----

  private String utilizationWarning(
      @Nullable Origin origin, PoolStats s, PoolStats whole, long sustained) {
    StringBuilder sb = new StringBuilder(400).append("llmpool: ");
    String limitName = origin == null ? "limits.maxConnections" : "limits.maxConnectionsPerHost";
    if (origin == null) {
      sb.append("the pool's connections");
      if (whole.byOrigin().size() == 1) {
        Origin only = whole.byOrigin().keySet().iterator().next();
        sb.append(" (to ").append(only).append(')');
      }
      sb.append(" have");
    } else {
      sb.append("connections to ").append(origin).append(" have");
    }
    sb.append(" been at least ")
        .append(percent(settings.utilizationThreshold()))
        .append(" utilized for ")
        .append(duration(sustained))
        .append(" (now ")
        .append(percent(s.utilization()))
        .append(": ")
        .append(s.active())
        .append('/')
        .append(s.limit())
        .append(" connections active, ")
        .append(s.pending())
        .append(" calls waiting, ")
        .append(s.inFlightExchanges())
        .append(" in flight");
    List<Origin> origins = origin == null ? origins(whole) : List.of(origin);
    String protocolList = protocols(origins);
    if (!protocolList.isEmpty()) {
      sb.append(", ").append(protocolList);
    }
    sb.append("; bound by ")
        .append(limitName)
        .append('=')
        .append(s.limit())
        .append(
            "). Calls queue for a connection, and fail with PoolTimeoutException after"
                + " timeouts.pool (")
        .append(duration(timeouts.pool().toNanos()))
        .append("). Likely remedy: ")
        .append(remedy(origins, limitName, s.limit()))
        .append(". Not repeated until utilization falls below ")
        .append(percent(settings.rearmBelow()))
        .append('.');
    return sb.toString();
  }

  private String failureSummary(
      PoolStats s, long timedOut, long rejected, long connectFailures, long window) {
    Origin origin = s.origin();
    StringBuilder sb = new StringBuilder(400).append("llmpool: in the last ");
    sb.append(duration(window)).append(", ");
    if (timedOut > 0) {
      sb.append(timedOut)
          .append(timedOut == 1 ? " call" : " calls")
          .append(" to ")
          .append(origin)
          .append(" timed out waiting for a connection (PoolTimeoutException after timeouts.pool=")
          .append(duration(timeouts.pool().toNanos()))
          .append(')');
    }
    if (rejected > 0) {
      sb.append(timedOut > 0 ? " and " : "")
          .append(rejected)
          .append(rejected == 1 ? " call" : " calls")
          .append(timedOut > 0 ? "" : " to " + origin)
          .append(rejected == 1 ? " was" : " were")
          .append(" refused at once because limits.maxPendingAcquires=")
          .append(limits.maxPendingAcquires())
          .append(" calls were already waiting (PoolFullException)");
    }
    if (connectFailures > 0) {
      sb.append("; ")
          .append(connectFailures)
          .append(connectFailures == 1 ? " connection attempt" : " connection attempts")
          .append(" failed meanwhile, so the host may be down or slow rather than busy");
    }
    sb.append(". Now: utilization ")
        .append(percent(s.utilization()))
        .append(", ")
        .append(s.active())
        .append('/')
        .append(s.limit())
        .append(" connections active, ")
        .append(s.pending())
        .append(" calls waiting. Likely remedy: ");
    String limitName =
        limits.maxConnectionsPerHost() < limits.maxConnections()
            ? "limits.maxConnectionsPerHost"
            : "limits.maxConnections";
    List<Origin> origins = origin == null ? List.of() : List.of(origin);
    sb.append(remedy(origins, limitName, s.limit()))
        .append(". Further failures are summarised at most every ")
        .append(duration(summaryNanos))
        .append('.');
    return sb.toString();
  }

  /**
   * What to do: HTTP/2 first where an origin is on HTTP/1.1 only because of our configuration (or
   * may speak h2c), since one HTTP/2 connection carries a hundred calls; then the limit; then the
   * load.
   */
  private String remedy(List<Origin> origins, String limitName, int limit) {
    List<String> h2 = new ArrayList<>();
    for (Origin o : origins) {
      if (!HTTP_1_1.equals(protocols.get(o)) || http2Offered.test(o)) {
        // On HTTP/2 already, not known yet, or HTTP/2 was offered and the server chose HTTP/1.1.
        continue;
      }
      if (o.isTls()) {
        h2.add(
            "enable HTTP/2 for "
                + o
                + " (it is turned off by http2(false) or forceHttp1; LLM APIs speak it, and one"
                + " HTTP/2 connection carries about 100 concurrent calls)");
      } else {
        h2.add(
            "if "
                + o
                + " speaks HTTP/2 without TLS, use h2cPriorKnowledge(\""
                + o.host()
                + ':'
                + o.port()
                + "\") (with http2 on) so that one connection carries many calls");
      }
    }
    StringBuilder sb = new StringBuilder();
    if (!h2.isEmpty()) {
      sb.append(String.join("; ", h2)).append("; otherwise ");
    }
    sb.append("raise ")
        .append(limitName)
        .append(" (now ")
        .append(limit)
        .append(") or send fewer calls at once");
    return sb.toString();
  }

  private String protocols(List<Origin> origins) {
    StringBuilder sb = new StringBuilder();
    for (Origin o : origins) {
      String p = protocols.get(o);
      if (p == null) {
        continue;
      }
      if (sb.length() > 0) {
        sb.append(", ");
      }
      if (origins.size() > 1) {
        sb.append(o).append(' ');
      }
      sb.append(p);
    }
    return sb.toString();
  }

  private static List<Origin> origins(PoolStats whole) {
    return new ArrayList<>(whole.byOrigin().keySet());
  }

  static String percent(double fraction) {
    return Math.round(fraction * 100) + "%";
  }

  /** "10 s", "1.5 s", "250 ms", "2 min". */
  static String duration(long nanos) {
    long ms = nanos / 1_000_000;
    if (ms < 1000) {
      return ms + " ms";
    }
    if (ms >= 120_000 && ms % 60_000 == 0) {
      return ms / 60_000 + " min";
    }
    if (ms % 1000 == 0) {
      return ms / 1000 + " s";
    }
    return String.format(Locale.ROOT, "%.1f s", ms / 1000.0);
  }

  // ---- Snapshots ----

  /**
   * {@code raw} with what the pool core does not know: each origin's protocol, the transport and
   * TLS provider, the peak utilization and the number of utilization warnings.
   */
  public PoolStats enrich(PoolStats raw) {
    PoolStats.Builder total = raw.toBuilder();
    for (Map.Entry<Origin, PoolStats> e : raw.byOrigin().entrySet()) {
      PoolStats o = e.getValue();
      Watch w = byOrigin.get(e.getKey());
      total.origin(
          o.toBuilder()
              .protocol(protocols.get(e.getKey()))
              .utilizationHealth(
                  Math.max(o.utilization(), w == null ? 0 : w.peak),
                  w == null ? 0 : w.warnings.get())
              .build());
    }
    return total
        .transport(ioTransport, tlsProvider)
        .utilizationHealth(Math.max(raw.utilization(), whole.peak), whole.warnings.get())
        .build();
  }

  /** Utilization warnings logged for the whole pool (tests). */
  long warnings() {
    return whole.warnings.get();
  }

  /** The health state of the whole pool, or of one origin. */
  private static final class Watch {
    final @Nullable Origin origin;

    // Written by the sampling thread only; read by enrich() on any thread.
    volatile double peak;
    final AtomicLong warnings = new AtomicLong();

    // The sampling thread only.
    long highSince = NEVER;
    boolean armed = true;
    long reportedTimeouts;
    long reportedRejected;
    long reportedConnectFailures;
    long summarizedAt = NEVER;

    Watch(@Nullable Origin origin) {
      this.origin = origin;
    }
  }
}
