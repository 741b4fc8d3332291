package dev.llmpool;

import java.time.Duration;
import java.util.Objects;

/**
 * How many connections the pool may hold, keep and queue for, and how long it keeps them [httpx
 * {@code Limits}, aiohttp {@code TCPConnector(limit=, limit_per_host=, keepalive_timeout=)}].
 * Immutable; build with {@link #builder()}, vary with {@link #toBuilder()}.
 *
 * <table>
 *   <caption>The limits and their defaults</caption>
 *   <tr><th>limit</th><th>default</th><th>why this default</th></tr>
 *   <tr><td>{@code maxConnections}</td><td>100</td><td>the httpx and aiohttp default; LLM calls last
 *       seconds to minutes, so over HTTP/1.1 this is also the number of calls in flight. Over
 *       HTTP/2 one connection carries ~100 calls, so few of these are ever used.</td></tr>
 *   <tr><td>{@code maxConnectionsPerHost}</td><td>= {@code maxConnections}</td><td>an LLM
 *       application talks to one or two hosts; a per-host cap below the total only matters when
 *       one host must not crowd out another</td></tr>
 *   <tr><td>{@code maxIdleConnections}</td><td>= {@code maxConnections}</td><td>a closed
 *       connection costs a TCP and TLS handshake (100-300 ms) on the next burst of calls, which
 *       agents produce all the time; {@code keepAliveExpiry} already trims connections nobody
 *       uses</td></tr>
 *   <tr><td>{@code keepAliveExpiry}</td><td>50 s</td><td>load balancers in front of LLM APIs
 *       close idle connections after about 60 s (AWS ALB's default) or later; retiring ours 10 s
 *       earlier means we never send a request on a connection the server is closing, while
 *       connections survive the pause between an agent's steps</td></tr>
 *   <tr><td>{@code maxConnectionLifetime}</td><td>10 min</td><td>long enough that reconnecting
 *       costs nothing measurable, short enough that DNS changes and load-balancer moves are
 *       picked up within minutes</td></tr>
 *   <tr><td>{@code maxPendingAcquires}</td><td>1000</td><td>far above an agent's normal fan-out,
 *       small enough that an overload shows as {@link PoolFullException} at once instead of a
 *       queue that can only end in {@link PoolTimeoutException}s</td></tr>
 * </table>
 *
 * <p>Counts include connections being opened and connections finishing their last exchanges: the
 * pool never holds more sockets than these limits allow.
 */
public final class Limits {
  /** The defaults in the table above. */
  public static final Limits DEFAULTS = builder().build();

  /** Marks "same as maxConnections" for the two limits that follow it by default. */
  private static final int FOLLOW_TOTAL = -1;

  private final int maxConnections;
  private final int maxConnectionsPerHost; // FOLLOW_TOTAL or the explicit value
  private final int maxIdleConnections; // FOLLOW_TOTAL or the explicit value
  private final Duration keepAliveExpiry;
  private final Duration maxConnectionLifetime;
  private final int maxPendingAcquires;

  private Limits(Builder b) {
    this.maxConnections = b.maxConnections;
    this.maxConnectionsPerHost = b.maxConnectionsPerHost;
    this.maxIdleConnections = b.maxIdleConnections;
    this.keepAliveExpiry = b.keepAliveExpiry;
    this.maxConnectionLifetime = b.maxConnectionLifetime;
    this.maxPendingAcquires = b.maxPendingAcquires;
  }

  /** A builder with the defaults. */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * A builder holding this object's values. A per-host or idle limit that was left to follow {@code
   * maxConnections} still follows it.
   */
  public Builder toBuilder() {
    Builder b = new Builder();
    b.maxConnections = maxConnections;
    b.maxConnectionsPerHost = maxConnectionsPerHost;
    b.maxIdleConnections = maxIdleConnections;
    b.keepAliveExpiry = keepAliveExpiry;
    b.maxConnectionLifetime = maxConnectionLifetime;
    b.maxPendingAcquires = maxPendingAcquires;
    return b;
  }

  /** Connections to all hosts together, open or being opened [httpx max_connections]. */
  public int maxConnections() {
    return maxConnections;
  }

  /** Connections to one origin (scheme, host, port) [aiohttp limit_per_host]. */
  public int maxConnectionsPerHost() {
    return maxConnectionsPerHost == FOLLOW_TOTAL ? maxConnections : maxConnectionsPerHost;
  }

  /**
   * Idle connections kept open, all hosts together; beyond it the least recently used is closed
   * [httpx max_keepalive_connections].
   */
  public int maxIdleConnections() {
    return maxIdleConnections == FOLLOW_TOTAL ? maxConnections : maxIdleConnections;
  }

  /** How long a connection may stay idle before it is closed [httpx keepalive_expiry]. */
  public Duration keepAliveExpiry() {
    return keepAliveExpiry;
  }

  /** Age after which a connection takes no new exchange and closes once its last one ends. */
  public Duration maxConnectionLifetime() {
    return maxConnectionLifetime;
  }

  /** How many calls may wait for a busy pool before further ones fail at once. */
  public int maxPendingAcquires() {
    return maxPendingAcquires;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Limits l
        && maxConnections == l.maxConnections
        && maxConnectionsPerHost == l.maxConnectionsPerHost
        && maxIdleConnections == l.maxIdleConnections
        && keepAliveExpiry.equals(l.keepAliveExpiry)
        && maxConnectionLifetime.equals(l.maxConnectionLifetime)
        && maxPendingAcquires == l.maxPendingAcquires;
  }

  @Override
  public int hashCode() {
    return Objects.hash(
        maxConnections,
        maxConnectionsPerHost,
        maxIdleConnections,
        keepAliveExpiry,
        maxConnectionLifetime,
        maxPendingAcquires);
  }

  @Override
  public String toString() {
    return "Limits{maxConnections="
        + maxConnections
        + ", maxConnectionsPerHost="
        + maxConnectionsPerHost()
        + ", maxIdleConnections="
        + maxIdleConnections()
        + ", keepAliveExpiry="
        + keepAliveExpiry
        + ", maxConnectionLifetime="
        + maxConnectionLifetime
        + ", maxPendingAcquires="
        + maxPendingAcquires
        + "}";
  }

  /** Builds {@link Limits}; values are checked in {@link #build()}. */
  public static final class Builder {
    private int maxConnections = 100;
    private int maxConnectionsPerHost = FOLLOW_TOTAL;
    private int maxIdleConnections = FOLLOW_TOTAL;
    private Duration keepAliveExpiry = Duration.ofSeconds(50);
    private Duration maxConnectionLifetime = Duration.ofMinutes(10);
    private int maxPendingAcquires = 1000;

    private Builder() {}

    /** Connections to all hosts together, at least 1. Default 100. */
    public Builder maxConnections(int n) {
      this.maxConnections = n;
      return this;
    }

    /**
     * Connections to one origin, 1 to {@code maxConnections}. Default: {@code maxConnections} (and
     * it keeps following it when only that is changed).
     */
    public Builder maxConnectionsPerHost(int n) {
      this.maxConnectionsPerHost = checkSet("maxConnectionsPerHost", n);
      return this;
    }

    /**
     * Idle connections kept, 0 to {@code maxConnections}; 0 closes every connection when its
     * exchange ends (no keep-alive). Default: {@code maxConnections}.
     */
    public Builder maxIdleConnections(int n) {
      this.maxIdleConnections = checkSet("maxIdleConnections", n);
      return this;
    }

    /** How long a connection may stay idle, positive. Default 50 s. */
    public Builder keepAliveExpiry(Duration d) {
      this.keepAliveExpiry = Objects.requireNonNull(d, "keepAliveExpiry");
      return this;
    }

    /** Age after which a connection is retired once drained, positive. Default 10 min. */
    public Builder maxConnectionLifetime(Duration d) {
      this.maxConnectionLifetime = Objects.requireNonNull(d, "maxConnectionLifetime");
      return this;
    }

    /**
     * Calls that may wait for a busy pool, 0 or more; 0 means a call that can neither get a free
     * connection nor open one fails at once. A call that opens a connection of its own within the
     * limits is never refused. Default 1000.
     */
    public Builder maxPendingAcquires(int n) {
      this.maxPendingAcquires = n;
      return this;
    }

    /**
     * Checks the values and builds.
     *
     * @throws IllegalArgumentException naming the field and the value when a limit is out of range
     */
    public Limits build() {
      if (maxConnections < 1) {
        throw bad("maxConnections must be at least 1, got " + maxConnections);
      }
      if (maxConnectionsPerHost != FOLLOW_TOTAL) {
        if (maxConnectionsPerHost < 1) {
          throw bad("maxConnectionsPerHost must be at least 1, got " + maxConnectionsPerHost);
        }
        if (maxConnectionsPerHost > maxConnections) {
          throw bad(
              "maxConnectionsPerHost ("
                  + maxConnectionsPerHost
                  + ") must not exceed maxConnections ("
                  + maxConnections
                  + ")");
        }
      }
      if (maxIdleConnections != FOLLOW_TOTAL) {
        if (maxIdleConnections < 0) {
          throw bad("maxIdleConnections must not be negative, got " + maxIdleConnections);
        }
        if (maxIdleConnections > maxConnections) {
          throw bad(
              "maxIdleConnections ("
                  + maxIdleConnections
                  + ") must not exceed maxConnections ("
                  + maxConnections
                  + ")");
        }
      }
      positive("keepAliveExpiry", keepAliveExpiry);
      positive("maxConnectionLifetime", maxConnectionLifetime);
      if (maxPendingAcquires < 0) {
        throw bad("maxPendingAcquires must not be negative, got " + maxPendingAcquires);
      }
      return new Limits(this);
    }

    /** A negative explicit value must not be mistaken for "follow maxConnections". */
    private static int checkSet(String field, int n) {
      if (n == FOLLOW_TOTAL) {
        throw bad(field + " must not be negative, got " + n);
      }
      return n;
    }

    private static void positive(String field, Duration d) {
      if (d.isZero() || d.isNegative()) {
        throw bad(field + " must be positive, got " + d);
      }
    }

    private static IllegalArgumentException bad(String detail) {
      return new IllegalArgumentException("limits." + detail);
    }
  }
}
