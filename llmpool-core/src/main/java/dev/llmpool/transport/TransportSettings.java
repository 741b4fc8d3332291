package dev.llmpool.transport;

import dev.llmpool.EventListener;
import dev.llmpool.Origin;
import dev.llmpool.Timeouts;
import dev.llmpool.time.Ticker;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import org.jspecify.annotations.Nullable;

/**
 * Everything the transport needs to know, fixed when the pool is built. Immutable; the public
 * {@code LlmPool.Builder} validates user input and fills this in.
 */
public final class TransportSettings {
  /** Default idle time after which an HTTP/2 connection is checked with a PING before reuse. */
  public static final Duration DEFAULT_PING_AFTER_IDLE = Duration.ofSeconds(30);

  /** The cap on a DNS record's TTL when no fixed cache TTL is configured. */
  public static final Duration DEFAULT_MAX_DNS_TTL = Duration.ofMinutes(5);

  final Timeouts timeouts;
  final boolean http2;
  final Set<String> h2cPriorKnowledge;
  final Set<String> http1Only;
  final @Nullable Path trustPem;
  final @Nullable TrustManager trustManager;
  final @Nullable SSLContext sslContext;
  final @Nullable Duration dnsCacheTtl;
  final int ioThreads;
  final Ticker ticker;
  final EventListener listener;
  final List<String> defaultHeaders;
  final int maxResponseHeaderBytes;
  final Duration pingAfterIdle;
  final int h2StreamWindow;
  final int h2ConnectionWindow;
  final @Nullable HostResolver resolver;
  final boolean preferNativeTransport;
  final boolean preferOpenSsl;

  private TransportSettings(Builder b) {
    this.timeouts = b.timeouts;
    this.http2 = b.http2;
    this.h2cPriorKnowledge = Set.copyOf(b.h2cPriorKnowledge);
    this.http1Only = Set.copyOf(b.http1Only);
    this.trustPem = b.trustPem;
    this.trustManager = b.trustManager;
    this.sslContext = b.sslContext;
    this.dnsCacheTtl = b.dnsCacheTtl;
    this.ioThreads = b.ioThreads;
    this.ticker = b.ticker;
    this.listener = b.listener;
    this.defaultHeaders = List.copyOf(b.defaultHeaders);
    this.maxResponseHeaderBytes = b.maxResponseHeaderBytes;
    this.pingAfterIdle = b.pingAfterIdle;
    this.h2StreamWindow = b.h2StreamWindow;
    this.h2ConnectionWindow = b.h2ConnectionWindow;
    this.resolver = b.resolver;
    this.preferNativeTransport = b.preferNativeTransport;
    this.preferOpenSsl = b.preferOpenSsl;
  }

  /** A builder with the defaults. */
  public static Builder builder() {
    return new Builder();
  }

  /** The timeouts. */
  public Timeouts timeouts() {
    return timeouts;
  }

  /** The time source. */
  public Ticker ticker() {
    return ticker;
  }

  /** The pool-wide event listener. */
  public EventListener listener() {
    return listener;
  }

  /** True when plain-text {@code origin} speaks HTTP/2 with prior knowledge (h2c). */
  boolean usesH2c(Origin origin) {
    return !origin.isTls() && http2 && matches(h2cPriorKnowledge, origin) && !forcesHttp1(origin);
  }

  /** True when {@code origin} must be spoken to in HTTP/1.1 only. */
  boolean forcesHttp1(Origin origin) {
    return !http2 || matches(http1Only, origin);
  }

  /**
   * Whether the transport expects {@code origin} to multiplex (HTTP/2), before any connection to it
   * exists: true for h2c origins; for TLS origins with HTTP/2 on, ALPN decides, and h2 is the
   * likely answer from LLM APIs.
   */
  public boolean expectsMultiplexing(Origin origin) {
    return origin.isTls() ? !forcesHttp1(origin) : usesH2c(origin);
  }

  private static boolean matches(Set<String> set, Origin origin) {
    return !set.isEmpty()
        && (set.contains(origin.host()) || set.contains(origin.host() + ":" + origin.port()));
  }

  /**
   * Normalises a host selector given by the user: {@code host}, {@code host:port} or an origin URL
   * {@code scheme://host[:port]} become {@code host} or {@code host:port}, lower case.
   */
  public static String hostSelector(String spec) {
    Objects.requireNonNull(spec, "host");
    String s = spec.trim();
    if (s.contains("://")) {
      Origin o = Origin.of(s);
      boolean explicitPort = s.indexOf(':', s.indexOf("://") + 3) >= 0;
      return explicitPort ? o.host() + ":" + o.port() : o.host();
    }
    if (s.isEmpty()) {
      throw new IllegalArgumentException("host is empty");
    }
    if (s.startsWith("[")) {
      int end = s.indexOf(']');
      if (end < 0) {
        throw new IllegalArgumentException("malformed IPv6 host '" + s + "'");
      }
      String host = s.substring(1, end).toLowerCase(Locale.ROOT);
      return end + 1 < s.length() && s.charAt(end + 1) == ':'
          ? host + ":" + Integer.parseInt(s.substring(end + 2))
          : host;
    }
    int colon = s.indexOf(':');
    if (colon > 0 && s.indexOf(':', colon + 1) < 0) {
      int port = Integer.parseInt(s.substring(colon + 1));
      if (port < 1 || port > 65535) {
        throw new IllegalArgumentException("port must be 1..65535, got " + port);
      }
      return s.substring(0, colon).toLowerCase(Locale.ROOT) + ":" + port;
    }
    return s.toLowerCase(Locale.ROOT);
  }

  /** Builds {@link TransportSettings}. */
  public static final class Builder {
    private Timeouts timeouts = Timeouts.DEFAULTS;
    private boolean http2 = true;
    private final Set<String> h2cPriorKnowledge = new HashSet<>();
    private final Set<String> http1Only = new HashSet<>();
    private @Nullable Path trustPem;
    private @Nullable TrustManager trustManager;
    private @Nullable SSLContext sslContext;
    private @Nullable Duration dnsCacheTtl;
    private int ioThreads = defaultIoThreads(Runtime.getRuntime().availableProcessors());
    private Ticker ticker = Ticker.system();
    private EventListener listener = EventListener.NONE;
    private final List<String> defaultHeaders = new ArrayList<>();
    private int maxResponseHeaderBytes = 64 * 1024;
    private Duration pingAfterIdle = DEFAULT_PING_AFTER_IDLE;
    private int h2StreamWindow = 1024 * 1024;
    private int h2ConnectionWindow = 16 * 1024 * 1024;
    private @Nullable HostResolver resolver;
    private boolean preferNativeTransport = true;
    private boolean preferOpenSsl = true;

    private Builder() {}

    static int defaultIoThreads(int processors) {
      // LLM traffic is latency-bound, not bandwidth-bound: one I/O thread carries tens of
      // thousands of calls a second. More threads only add wake-ups, and each one that sleeps
      // between reads is woken by the sender (on a VM, an inter-processor interrupt the server's
      // process pays for); half the processors leaves the rest to the application.
      return Math.max(1, Math.min(4, processors / 2));
    }

    public Builder timeouts(Timeouts t) {
      this.timeouts = Objects.requireNonNull(t);
      return this;
    }

    public Builder http2(boolean on) {
      this.http2 = on;
      return this;
    }

    /** Adds a host selector (see {@link #hostSelector}) spoken to with h2c prior knowledge. */
    public Builder h2cPriorKnowledge(String selector) {
      h2cPriorKnowledge.add(hostSelector(selector));
      return this;
    }

    /** Adds a host selector (see {@link #hostSelector}) spoken to in HTTP/1.1 only. */
    public Builder http1Only(String selector) {
      http1Only.add(hostSelector(selector));
      return this;
    }

    public Builder trustPem(@Nullable Path pem) {
      this.trustPem = pem;
      return this;
    }

    public Builder trustManager(@Nullable TrustManager tm) {
      this.trustManager = tm;
      return this;
    }

    public Builder sslContext(@Nullable SSLContext ctx) {
      this.sslContext = ctx;
      return this;
    }

    /** A fixed DNS cache TTL; null: each record's TTL, capped at 5 minutes. */
    public Builder dnsCacheTtl(@Nullable Duration ttl) {
      this.dnsCacheTtl = ttl;
      return this;
    }

    public Builder ioThreads(int n) {
      if (n < 1) {
        throw new IllegalArgumentException("ioThreads must be at least 1, got " + n);
      }
      this.ioThreads = n;
      return this;
    }

    public Builder ticker(Ticker t) {
      this.ticker = Objects.requireNonNull(t);
      return this;
    }

    public Builder listener(EventListener l) {
      this.listener = Objects.requireNonNull(l);
      return this;
    }

    /** Adds a header sent with every request (validated by the caller). */
    public Builder defaultHeader(String name, String value) {
      defaultHeaders.add(name);
      defaultHeaders.add(value);
      return this;
    }

    public Builder maxResponseHeaderBytes(int n) {
      this.maxResponseHeaderBytes = n;
      return this;
    }

    public Builder pingAfterIdle(Duration d) {
      this.pingAfterIdle = Objects.requireNonNull(d);
      return this;
    }

    /** HTTP/2 receive windows: per stream, and for the whole connection. */
    public Builder h2Windows(int stream, int connection) {
      if (stream < 65_535 || connection < stream) {
        throw new IllegalArgumentException("bad HTTP/2 windows " + stream + "/" + connection);
      }
      this.h2StreamWindow = stream;
      this.h2ConnectionWindow = connection;
      return this;
    }

    /** Replaces DNS (tests). */
    public Builder resolver(@Nullable HostResolver r) {
      this.resolver = r;
      return this;
    }

    /** False forces NIO even where epoll is available (tests of both paths). */
    public Builder preferNativeTransport(boolean on) {
      this.preferNativeTransport = on;
      return this;
    }

    /** False forces the JDK's TLS even where OpenSSL (netty-tcnative) loads. */
    public Builder preferOpenSsl(boolean on) {
      this.preferOpenSsl = on;
      return this;
    }

    public TransportSettings build() {
      int trustOptions =
          (trustPem != null ? 1 : 0)
              + (trustManager != null ? 1 : 0)
              + (sslContext != null ? 1 : 0);
      if (trustOptions > 1) {
        throw new IllegalArgumentException(
            "give at most one of trustedCertificates(pem), trustManager and sslContext");
      }
      return new TransportSettings(this);
    }
  }
}
