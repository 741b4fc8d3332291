package dev.llmpool;

import java.time.Duration;
import java.util.Objects;

/**
 * How long each phase of a call may take [httpx {@code Timeout}, aiohttp {@code ClientTimeout}].
 * Immutable; build with {@link #builder()}, vary with {@link #toBuilder()}.
 *
 * <table>
 *   <caption>The limits and their defaults</caption>
 *   <tr><th>limit</th><th>default</th><th>what it bounds</th><th>exception</th></tr>
 *   <tr><td>connect</td><td>10 s</td><td>TCP connect plus the TLS handshake, per address
 *       tried</td><td>{@link ConnectTimeoutException}</td></tr>
 *   <tr><td>write</td><td>60 s</td><td>sending the request</td>
 *       <td>{@link WriteTimeoutException}</td></tr>
 *   <tr><td>read</td><td>5 min</td><td>the longest gap between two received bytes; for a
 *       non-streamed call that includes the model's whole thinking time before the first byte,
 *       hence the generous default</td><td>{@link ReadTimeoutException}</td></tr>
 *   <tr><td>pool</td><td>30 s</td><td>waiting for a connection from the pool</td>
 *       <td>{@link PoolTimeoutException}</td></tr>
 *   <tr><td>total</td><td>10 min</td><td>the whole call, retries and back-off included (the
 *       official OpenAI and Anthropic SDKs' default)</td><td>{@link TotalTimeoutException}</td></tr>
 * </table>
 *
 * <p>Every limit must be positive. There is no "no limit": a call that can hang forever is a defect
 * in a production client; give a long duration instead.
 */
public final class Timeouts {
  /** The defaults in the table above. */
  public static final Timeouts DEFAULTS = builder().build();

  private final Duration connect;
  private final Duration write;
  private final Duration read;
  private final Duration pool;
  private final Duration total;

  private Timeouts(Builder b) {
    this.connect = b.connect;
    this.write = b.write;
    this.read = b.read;
    this.pool = b.pool;
    this.total = b.total;
  }

  /** A builder with the defaults. */
  public static Builder builder() {
    return new Builder();
  }

  /** A builder holding this object's values. */
  public Builder toBuilder() {
    return new Builder().connect(connect).write(write).read(read).pool(pool).total(total);
  }

  /** Limit for TCP connect plus TLS handshake. */
  public Duration connect() {
    return connect;
  }

  /** Limit for sending the request. */
  public Duration write() {
    return write;
  }

  /** Limit for the longest gap between two received bytes. */
  public Duration read() {
    return read;
  }

  /** Limit for waiting for a pooled connection. */
  public Duration pool() {
    return pool;
  }

  /** Limit for the whole call, retries included. */
  public Duration total() {
    return total;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Timeouts t
        && connect.equals(t.connect)
        && write.equals(t.write)
        && read.equals(t.read)
        && pool.equals(t.pool)
        && total.equals(t.total);
  }

  @Override
  public int hashCode() {
    return Objects.hash(connect, write, read, pool, total);
  }

  @Override
  public String toString() {
    return "Timeouts{connect="
        + connect
        + ", write="
        + write
        + ", read="
        + read
        + ", pool="
        + pool
        + ", total="
        + total
        + "}";
  }

  /** Builds {@link Timeouts}; values are checked in {@link #build()}. */
  public static final class Builder {
    private Duration connect = Duration.ofSeconds(10);
    private Duration write = Duration.ofSeconds(60);
    private Duration read = Duration.ofMinutes(5);
    private Duration pool = Duration.ofSeconds(30);
    private Duration total = Duration.ofMinutes(10);

    private Builder() {}

    /** TCP connect plus TLS handshake, per address tried. Default 10 s. */
    public Builder connect(Duration d) {
      this.connect = Objects.requireNonNull(d, "connect");
      return this;
    }

    /** Sending the request. Default 60 s. */
    public Builder write(Duration d) {
      this.write = Objects.requireNonNull(d, "write");
      return this;
    }

    /** The longest gap between two received bytes. Default 5 min. */
    public Builder read(Duration d) {
      this.read = Objects.requireNonNull(d, "read");
      return this;
    }

    /** Waiting for a pooled connection. Default 30 s. */
    public Builder pool(Duration d) {
      this.pool = Objects.requireNonNull(d, "pool");
      return this;
    }

    /** The whole call, retries included. Default 10 min. */
    public Builder total(Duration d) {
      this.total = Objects.requireNonNull(d, "total");
      return this;
    }

    /**
     * Checks the values and builds.
     *
     * @throws IllegalArgumentException naming the field and the value when a limit is zero or
     *     negative
     */
    public Timeouts build() {
      positive("connect", connect);
      positive("write", write);
      positive("read", read);
      positive("pool", pool);
      positive("total", total);
      return new Timeouts(this);
    }

    private static void positive(String field, Duration d) {
      if (d.isZero() || d.isNegative()) {
        throw new IllegalArgumentException("timeouts." + field + " must be positive, got " + d);
      }
    }
  }
}
