package dev.llmpool;

import java.util.Collections;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * A snapshot of the pool: connections by state, waiting calls, utilization and counters since the
 * pool started; for the pool as a whole and, through {@link #byOrigin()}, for each origin.
 * Immutable.
 *
 * <p>Every count in one snapshot is taken at the same instant from the connections' own states, so
 * they always agree: {@code open() == idle() + active()}, {@code opened() - closed() == open()} and
 * the total is the sum of the origins.
 *
 * <ul>
 *   <li>connecting: TCP/TLS/HTTP/2 set-up still in progress;
 *   <li>idle: open, no exchange in flight, ready to be reused;
 *   <li>active: at least one exchange in flight (including connections that take no new exchange
 *       because of GOAWAY, their lifetime or a discard, and close once drained: {@link
 *       #draining()});
 *   <li>pending: calls waiting for a connection.
 * </ul>
 */
@SuppressWarnings("EnumOrdinal") // close counts are a long[] indexed by reason, like an EnumMap
public final class PoolStats {

  /** Why the pool closed a connection; {@link #label()} is the name used in metrics. */
  public enum CloseReason {
    /** Idle longer than {@code keepAliveExpiry} (or the server's own keep-alive timeout). */
    IDLE_EXPIRED,
    /** Older than {@code maxConnectionLifetime}, closed once drained. */
    LIFETIME,
    /**
     * Closed to make room: beyond {@code maxIdleConnections}, or to give a slot to a call of
     * another host; always the least recently used idle connection.
     */
    EVICTED_LRU,
    /** Closed by the server (or found closed when taken from the idle set). */
    SERVER_CLOSED,
    /** The server sent HTTP/2 GOAWAY; closed once its streams ended. */
    GOAWAY,
    /** An I/O or protocol error. */
    ERROR,
    /** The pool was closed. */
    POOL_CLOSED,
    /** The call that held it said it is unfit for reuse (body not fully read, protocol error). */
    DISCARDED,
    /** The call that held it was garbage-collected without releasing it. */
    LEAKED;

    /** Lower-case, hyphenated: {@code idle-expired}, {@code evicted-lru}, ... */
    public String label() {
      return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }
  }

  /** Origins named in the whole pool's {@code toString()}; the rest are counted. */
  private static final int MAX_ORIGINS_SHOWN = 4;

  private final @Nullable Origin origin;
  private final int limit;
  private final int connecting;
  private final int idle;
  private final int active;
  private final int draining;
  private final int inFlight;
  private final int pending;
  private final long opened;
  private final long[] closed;
  private final long reused;
  private final long acquireTimeouts;
  private final long rejected;
  private final long connectFailures;
  private final int peakActive;
  private final int peakPending;
  private final int peakOpen;
  private final Map<Origin, PoolStats> byOrigin;
  private final @Nullable String protocol;
  private final @Nullable String ioTransport;
  private final @Nullable String tlsProvider;
  private final double peakUtilization;
  private final long utilizationWarnings;

  private PoolStats(Builder b) {
    this.origin = b.origin;
    this.limit = b.limit;
    this.connecting = b.connecting;
    this.idle = b.idle;
    this.active = b.active;
    this.draining = b.draining;
    this.inFlight = b.inFlight;
    this.pending = b.pending;
    this.opened = b.opened;
    this.closed = b.closed.clone();
    this.reused = b.reused;
    this.acquireTimeouts = b.acquireTimeouts;
    this.rejected = b.rejected;
    this.connectFailures = b.connectFailures;
    this.peakActive = b.peakActive;
    this.peakPending = b.peakPending;
    this.peakOpen = b.peakOpen;
    this.byOrigin = Collections.unmodifiableMap(new LinkedHashMap<>(b.byOrigin));
    this.protocol = b.protocol;
    this.ioTransport = b.ioTransport;
    this.tlsProvider = b.tlsProvider;
    this.peakUtilization = b.peakUtilization;
    this.utilizationWarnings = b.utilizationWarnings;
  }

  /**
   * A builder, for pool implementations and tests; applications get snapshots from the pool.
   *
   * @param origin the origin this snapshot describes, or null for the pool as a whole
   * @param limit {@code maxConnectionsPerHost} for an origin, {@code maxConnections} for the whole
   */
  public static Builder builder(@Nullable Origin origin, int limit) {
    return new Builder(origin, limit);
  }

  /** A builder holding every value of this snapshot, to derive another from it. */
  public Builder toBuilder() {
    Builder b =
        new Builder(origin, limit)
            .connections(connecting, idle, active, draining)
            .load(inFlight, pending)
            .counters(opened, reused, acquireTimeouts, rejected, connectFailures)
            .peaks(peakActive, peakPending, peakOpen)
            .protocol(protocol)
            .transport(ioTransport, tlsProvider)
            .utilizationHealth(peakUtilization, utilizationWarnings);
    System.arraycopy(closed, 0, b.closed, 0, closed.length);
    b.byOrigin.putAll(byOrigin);
    return b;
  }

  /** The origin this snapshot describes, or null when it describes the whole pool. */
  public @Nullable Origin origin() {
    return origin;
  }

  /**
   * The connection limit that applies: {@code maxConnections} for the whole pool, {@code
   * maxConnectionsPerHost} for an origin.
   */
  public int limit() {
    return limit;
  }

  /** Connections being opened. */
  public int connecting() {
    return connecting;
  }

  /** Open connections with no exchange in flight. */
  public int idle() {
    return idle;
  }

  /** Open connections with at least one exchange in flight (draining ones included). */
  public int active() {
    return active;
  }

  /** Active connections that take no new exchange and close once their last one ends. */
  public int draining() {
    return draining;
  }

  /** Open connections: {@code idle() + active()}. */
  public int open() {
    return idle + active;
  }

  /** Every connection counted against the limits: {@code connecting() + open()}. */
  public int total() {
    return connecting + idle + active;
  }

  /** Exchanges in flight: one per active HTTP/1.1 connection, one per open HTTP/2 stream. */
  public int inFlightExchanges() {
    return inFlight;
  }

  /** Calls waiting for a connection. */
  public int pending() {
    return pending;
  }

  /**
   * {@code active() / limit()}, from 0 to 1; 1 when calls are waiting and no further connection may
   * be opened (the pool is saturated). Over HTTP/2 one active connection can carry many calls, so a
   * low figure there does not mean the calls are few.
   */
  public double utilization() {
    if (pending > 0 && connecting + idle + active >= limit) {
      return 1.0;
    }
    return Math.min(1.0, (double) active / limit);
  }

  /** Connections opened since the pool started. */
  public long opened() {
    return opened;
  }

  /** Connections closed since the pool started, for every reason. */
  public long closed() {
    long sum = 0;
    for (long c : closed) {
      sum += c;
    }
    return sum;
  }

  /** Connections closed since the pool started for this reason. */
  public long closed(CloseReason reason) {
    return closed[reason.ordinal()];
  }

  /** The non-zero close counts by reason. */
  public Map<CloseReason, Long> closedByReason() {
    Map<CloseReason, Long> m = new EnumMap<>(CloseReason.class);
    for (CloseReason r : CloseReason.values()) {
      if (closed[r.ordinal()] != 0) {
        m.put(r, closed[r.ordinal()]);
      }
    }
    return Collections.unmodifiableMap(m);
  }

  /** Exchanges that ran on a connection that had carried one before. */
  public long reused() {
    return reused;
  }

  /** Calls that failed with {@link PoolTimeoutException}. */
  public long acquireTimeouts() {
    return acquireTimeouts;
  }

  /** Calls refused at once with {@link PoolFullException}. */
  public long rejected() {
    return rejected;
  }

  /** Connection attempts that failed (DNS, connect, TLS). */
  public long connectFailures() {
    return connectFailures;
  }

  /** The most connections active at once since the pool started. */
  public int peakActive() {
    return peakActive;
  }

  /** The most calls waiting at once since the pool started. */
  public int peakPending() {
    return peakPending;
  }

  /** The most connections counted against the limits at once (connecting ones included). */
  public int peakOpen() {
    return peakOpen;
  }

  /**
   * The highest {@link #utilization()} seen since the pool started: sampled about once a second,
   * and never below {@code peakActive() / limit()}, so a short burst that filled every connection
   * shows as 1.0 even between samples. For the whole pool, and per origin against {@code
   * maxConnectionsPerHost}. 0 when the pool's health is not watched (see {@code
   * LlmPool.Builder.warnings}).
   */
  public double peakUtilization() {
    return Math.max(peakUtilization, Math.min(1.0, (double) peakActive / limit));
  }

  /**
   * How many utilization warnings were logged since the pool started (see {@code PoolWarnings}):
   * for the whole pool, or for this origin. A non-zero value means the pool spent a sustained
   * period near its limits.
   */
  public long utilizationWarnings() {
    return utilizationWarnings;
  }

  /**
   * Whether at least one utilization warning was logged since the pool started ({@code
   * utilizationWarnings() > 0}): what a report prints as "warning fired: yes/no".
   */
  public boolean utilizationWarningFired() {
    return utilizationWarnings > 0;
  }

  /**
   * The protocol of this origin's connections, {@code "HTTP/1.1"} or {@code "HTTP/2"} (the newest
   * connection's, should a server change); null before any connection opened, and on the whole
   * pool's snapshot.
   */
  public @Nullable String protocol() {
    return protocol;
  }

  /** The I/O transport in use ({@code "epoll"} or {@code "nio"}), or null when not known. */
  public @Nullable String ioTransport() {
    return ioTransport;
  }

  /**
   * The TLS implementation in use ({@code "OpenSSL (BoringSSL)"} or {@code "JDK"}), or null when
   * not known.
   */
  public @Nullable String tlsProvider() {
    return tlsProvider;
  }

  /** One snapshot per origin the pool has served, in the order they were first used. */
  public Map<Origin, PoolStats> byOrigin() {
    return byOrigin;
  }

  /** The snapshot of one origin, or null when the pool never served it. */
  public @Nullable PoolStats forOrigin(Origin o) {
    return byOrigin.get(o);
  }

  /**
   * One line, for logs and bug reports, e.g. {@code PoolStats{connections=3/100 (connecting=0,
   * idle=1, active=2), inFlight=2, pending=0, utilization=2%, opened=5, closed=2 (idle-expired=2),
   * reused=40, poolTimeouts=0, rejected=0, peak(active=3, pending=1, open=4, utilization=40%),
   * origins=[https://api.openai.com:443 HTTP/2], io=epoll, tls=OpenSSL (BoringSSL)}}. Counts that
   * are zero and rarely matter (draining, connect failures, warnings) are left out.
   */
  @Override
  public String toString() {
    StringBuilder sb = new StringBuilder(256).append("PoolStats{");
    if (origin != null) {
      sb.append(origin);
      if (protocol != null) {
        sb.append(' ').append(protocol);
      }
      sb.append(", ");
    }
    sb.append("connections=")
        .append(total())
        .append('/')
        .append(limit)
        .append(" (connecting=")
        .append(connecting)
        .append(", idle=")
        .append(idle)
        .append(", active=")
        .append(active);
    if (draining > 0) {
      sb.append(", draining=").append(draining);
    }
    sb.append("), inFlight=").append(inFlight).append(", pending=").append(pending);
    sb.append(", utilization=");
    percent(sb, utilization(), active > 0 || pending > 0);
    sb.append(", opened=").append(opened).append(", closed=").append(closed());
    Map<CloseReason, Long> reasons = closedByReason();
    if (!reasons.isEmpty()) {
      sb.append(" (");
      boolean first = true;
      for (Map.Entry<CloseReason, Long> e : reasons.entrySet()) {
        if (!first) {
          sb.append(", ");
        }
        first = false;
        sb.append(e.getKey().label()).append('=').append(e.getValue());
      }
      sb.append(')');
    }
    sb.append(", reused=")
        .append(reused)
        .append(", poolTimeouts=")
        .append(acquireTimeouts)
        .append(", rejected=")
        .append(rejected);
    if (connectFailures > 0) {
      sb.append(", connectFailures=").append(connectFailures);
    }
    sb.append(", peak(active=")
        .append(peakActive)
        .append(", pending=")
        .append(peakPending)
        .append(", open=")
        .append(peakOpen)
        .append(", utilization=");
    percent(sb, peakUtilization(), peakActive > 0 || peakPending > 0);
    sb.append(')');
    if (utilizationWarnings > 0) {
      sb.append(", utilizationWarnings=").append(utilizationWarnings);
    }
    if (origin == null && !byOrigin.isEmpty()) {
      sb.append(", origins=[");
      int shown = 0;
      for (PoolStats o : byOrigin.values()) {
        if (shown == MAX_ORIGINS_SHOWN) {
          sb.append(", +").append(byOrigin.size() - shown).append(" more");
          break;
        }
        if (shown++ > 0) {
          sb.append(", ");
        }
        sb.append(o.origin);
        if (o.protocol != null) {
          sb.append(' ').append(o.protocol);
        }
      }
      sb.append(']');
    }
    if (ioTransport != null) {
      sb.append(", io=").append(ioTransport);
    }
    if (tlsProvider != null) {
      sb.append(", tls=").append(tlsProvider);
    }
    return sb.append('}').toString();
  }

  /** A percentage; "<1%" rather than "0%" when something is in use. */
  private static void percent(StringBuilder sb, double fraction, boolean inUse) {
    long p = Math.round(fraction * 100);
    if (p == 0 && inUse && fraction > 0) {
      sb.append("<1%");
    } else {
      sb.append(p).append('%');
    }
  }

  /** Fills a {@link PoolStats}; for pool implementations and tests. */
  public static final class Builder {
    private final @Nullable Origin origin;
    private final int limit;
    private int connecting;
    private int idle;
    private int active;
    private int draining;
    private int inFlight;
    private int pending;
    private long opened;
    private final long[] closed = new long[CloseReason.values().length];
    private long reused;
    private long acquireTimeouts;
    private long rejected;
    private long connectFailures;
    private int peakActive;
    private int peakPending;
    private int peakOpen;
    private final Map<Origin, PoolStats> byOrigin = new LinkedHashMap<>();
    private @Nullable String protocol;
    private @Nullable String ioTransport;
    private @Nullable String tlsProvider;
    private double peakUtilization;
    private long utilizationWarnings;

    private Builder(@Nullable Origin origin, int limit) {
      if (limit < 1) {
        throw new IllegalArgumentException("limit must be at least 1, got " + limit);
      }
      this.origin = origin;
      this.limit = limit;
    }

    /** Sets the connection counts by state; draining connections are part of active. */
    public Builder connections(int connecting, int idle, int active, int draining) {
      if (connecting < 0 || idle < 0 || active < 0 || draining < 0 || draining > active) {
        throw new IllegalArgumentException(
            "bad counts: connecting="
                + connecting
                + ", idle="
                + idle
                + ", active="
                + active
                + ", draining="
                + draining);
      }
      this.connecting = connecting;
      this.idle = idle;
      this.active = active;
      this.draining = draining;
      return this;
    }

    /** Sets the exchanges in flight and the waiting calls. */
    public Builder load(int inFlight, int pending) {
      this.inFlight = inFlight;
      this.pending = pending;
      return this;
    }

    /** Sets the counters. */
    public Builder counters(
        long opened, long reused, long acquireTimeouts, long rejected, long connectFailures) {
      this.opened = opened;
      this.reused = reused;
      this.acquireTimeouts = acquireTimeouts;
      this.rejected = rejected;
      this.connectFailures = connectFailures;
      return this;
    }

    /** Sets how many connections were closed for {@code reason}. */
    public Builder closed(CloseReason reason, long count) {
      closed[reason.ordinal()] = count;
      return this;
    }

    /** Sets the peaks since the pool started. */
    public Builder peaks(int peakActive, int peakPending, int peakOpen) {
      this.peakActive = peakActive;
      this.peakPending = peakPending;
      this.peakOpen = peakOpen;
      return this;
    }

    /**
     * Sets the protocol of the origin's connections ({@code "HTTP/1.1"}, {@code "HTTP/2"}), or null
     * when not known.
     */
    public Builder protocol(@Nullable String protocol) {
      this.protocol = protocol;
      return this;
    }

    /** Sets the I/O transport and the TLS implementation in use (null when not known). */
    public Builder transport(@Nullable String ioTransport, @Nullable String tlsProvider) {
      this.ioTransport = ioTransport;
      this.tlsProvider = tlsProvider;
      return this;
    }

    /**
     * Sets the highest sampled utilization and how many utilization warnings were logged.
     *
     * @throws IllegalArgumentException when the peak is not within 0..1 or the count is negative
     */
    public Builder utilizationHealth(double peakUtilization, long utilizationWarnings) {
      if (!(peakUtilization >= 0 && peakUtilization <= 1) || utilizationWarnings < 0) {
        throw new IllegalArgumentException(
            "bad utilization health: peak="
                + peakUtilization
                + ", warnings="
                + utilizationWarnings);
      }
      this.peakUtilization = peakUtilization;
      this.utilizationWarnings = utilizationWarnings;
      return this;
    }

    /**
     * Adds (or replaces) the snapshot of one origin (only on the whole pool's snapshot); origins
     * keep the order in which they were first added.
     */
    public Builder origin(PoolStats perOrigin) {
      Origin o = Objects.requireNonNull(perOrigin.origin(), "per-origin snapshot has no origin");
      byOrigin.put(o, perOrigin);
      return this;
    }

    /** Builds the snapshot. */
    public PoolStats build() {
      return new PoolStats(this);
    }
  }
}
