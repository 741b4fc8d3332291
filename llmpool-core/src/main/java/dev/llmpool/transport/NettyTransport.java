package dev.llmpool.transport;

import dev.llmpool.Origin;
import dev.llmpool.pool.Connection;
import dev.llmpool.pool.ConnectionFactory;
import dev.llmpool.pool.ConnectionListener;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollChannelOption;
import io.netty.channel.epoll.EpollDatagramChannel;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.DatagramChannel;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioChannelOption;
import io.netty.channel.socket.nio.NioDatagramChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Netty side of a pool: its event loops (epoll when the platform has it, NIO otherwise), TLS
 * contexts, DNS cache and connection set-up. It implements the pool's {@link ConnectionFactory}.
 * One per {@code LlmPool}; {@link #close()} stops its threads.
 *
 * <p>TCP: {@code TCP_NODELAY} (requests are written whole, Nagle would only add latency) and TCP
 * keep-alive probing after {@value #KEEPALIVE_IDLE_SECONDS} s of silence, so that a NAT gateway
 * does not drop a connection waiting for a slow model (epoll, and NIO on JDKs that expose the
 * options).
 *
 * <p>Thread-safe.
 */
public final class NettyTransport implements ConnectionFactory, AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(NettyTransport.class);

  static final int KEEPALIVE_IDLE_SECONDS = 60;
  static final int KEEPALIVE_INTERVAL_SECONDS = 10;
  static final int KEEPALIVE_PROBES = 6;

  private static final AtomicInteger POOLS = new AtomicInteger();

  final TransportSettings settings;
  final EventLoopGroup group;
  final TlsContexts tls;
  final DnsCache dns;
  final DefaultHeaders defaultHeaders;
  private final HostResolver resolver;
  private final boolean epoll;
  private final Class<? extends SocketChannel> channelType;
  private final AtomicLong connectionIds = new AtomicLong();
  private final ConcurrentHashMap<Origin, StreamBudget> budgets = new ConcurrentHashMap<>();

  /** Builds the transport and starts its event loop threads (lazily, on first use). */
  public NettyTransport(TransportSettings settings) {
    this.settings = settings;
    this.epoll = settings.preferNativeTransport && Epoll.isAvailable();
    int poolNo = POOLS.incrementAndGet();
    ThreadFactory threads = ioThreads(poolNo);
    IoHandlerFactory io = epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
    this.group = new MultiThreadIoEventLoopGroup(settings.ioThreads, threads, io);
    this.channelType = epoll ? EpollSocketChannel.class : NioSocketChannel.class;
    this.tls = new TlsContexts(settings);
    this.defaultHeaders = new DefaultHeaders(settings.defaultHeaders);
    HostResolver r = settings.resolver;
    if (r == null) {
      r = defaultResolver(group.next(), epoll, settings.timeouts.connect().toMillis());
    }
    this.resolver = r;
    this.dns =
        new DnsCache(
            resolver, settings.ticker, settings.dnsCacheTtl, TransportSettings.DEFAULT_MAX_DNS_TTL);
    log.debug(
        "llmpool transport: {} with {} I/O thread(s), TLS {}",
        ioTransportName(),
        settings.ioThreads,
        tls.providerName());
  }

  private static ThreadFactory ioThreads(int poolNo) {
    AtomicInteger n = new AtomicInteger();
    return r -> new IoThread(r, "llmpool-io-" + poolNo + "-" + n.incrementAndGet());
  }

  private static HostResolver defaultResolver(EventLoop loop, boolean epoll, long timeoutMillis) {
    Class<? extends DatagramChannel> udp =
        epoll ? EpollDatagramChannel.class : NioDatagramChannel.class;
    try {
      return new NettyDnsResolver(loop, udp, Math.max(1000, Math.min(timeoutMillis, 5000)));
    } catch (RuntimeException | LinkageError e) {
      log.debug("Netty DNS resolver unavailable ({}); using the JDK's resolver", e.toString());
      AtomicInteger n = new AtomicInteger();
      return new JdkResolver(
          Executors.newCachedThreadPool(
              r -> {
                Thread t = new Thread(r, "llmpool-dns-" + n.incrementAndGet());
                t.setDaemon(true);
                return t;
              }));
    }
  }

  /** {@code "epoll"} or {@code "nio"}. */
  public String ioTransportName() {
    return epoll ? "epoll" : "nio";
  }

  /** {@code "JDK"} or {@code "OpenSSL (BoringSSL ...)"}. */
  public String tlsProviderName() {
    return tls.providerName();
  }

  /** The settings. */
  public TransportSettings settings() {
    return settings;
  }

  /** True when the calling thread is one of llmpool's I/O threads (blocking there would hang). */
  public static boolean onIoThread() {
    return IoThread.current();
  }

  /** True when the transport expects {@code origin} to speak HTTP/2 (see settings). */
  @Override
  public boolean expectsMultiplexing(Origin origin) {
    return settings.expectsMultiplexing(origin);
  }

  @Override
  public CompletableFuture<Connection> open(
      Origin origin, ConnectionListener listener, @Nullable Object cause) {
    CompletableFuture<Connection> result = new CompletableFuture<>();
    EventLoop loop = group.next();
    ConnectAttempt attempt =
        new ConnectAttempt(
            this, loop, origin, listener, cause, connectionIds.incrementAndGet(), result);
    loop.execute(attempt::start);
    return result;
  }

  /** What is known of {@code origin}'s streams-per-connection limit (see {@link StreamBudget}). */
  StreamBudget budget(Origin origin) {
    return budgets.computeIfAbsent(origin, StreamBudget::new);
  }

  /** A bootstrap for one connect on {@code loop}. */
  Bootstrap bootstrap(EventLoop loop) {
    Bootstrap b =
        new Bootstrap()
            .group(loop)
            .channel(channelType)
            .option(ChannelOption.TCP_NODELAY, true)
            .option(ChannelOption.SO_KEEPALIVE, true)
            // Netty 4.2's default (adaptive) allocator makes a new java.nio view of a buffer each
            // time TLS or a socket write asks for one; the pooled allocator keeps one per buffer.
            // Over TLS that is ~0.6 KB less garbage per request at concurrency 1 (peers.sh, h2).
            .option(ChannelOption.ALLOCATOR, PooledByteBufAllocator.DEFAULT)
            .option(
                ChannelOption.CONNECT_TIMEOUT_MILLIS,
                (int) Math.min(Integer.MAX_VALUE, settings.timeouts.connect().toMillis()));
    if (epoll) {
      b.option(EpollChannelOption.TCP_KEEPIDLE, KEEPALIVE_IDLE_SECONDS)
          .option(EpollChannelOption.TCP_KEEPINTVL, KEEPALIVE_INTERVAL_SECONDS)
          .option(EpollChannelOption.TCP_KEEPCNT, KEEPALIVE_PROBES);
    } else {
      NioKeepAlive.apply(b);
    }
    return b;
  }

  /** Closes the resolver and stops the event loops (quietly, at once). */
  @Override
  public void close() {
    try {
      resolver.close();
    } catch (RuntimeException e) {
      log.debug("resolver close failed", e);
    }
    dns.clear();
    var unused = group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
  }

  /** Runs {@code r} once the event loop threads have stopped. */
  public void whenTerminated(Runnable r) {
    group.terminationFuture().addListener(x -> r.run());
  }

  /** Completes when the event loop threads have stopped. */
  public CompletableFuture<Void> terminated() {
    CompletableFuture<Void> f = new CompletableFuture<>();
    group.terminationFuture().addListener(x -> f.complete(null));
    return f;
  }

  /** NIO's extended socket options (JDK 11+ {@code jdk.net}), where present. */
  private static final class NioKeepAlive {
    private static final boolean AVAILABLE = probe();

    private static boolean probe() {
      try {
        return jdk.net.ExtendedSocketOptions.TCP_KEEPIDLE != null;
      } catch (LinkageError e) {
        return false;
      }
    }

    static void apply(Bootstrap b) {
      if (!AVAILABLE) {
        return;
      }
      b.option(
              NioChannelOption.of(jdk.net.ExtendedSocketOptions.TCP_KEEPIDLE),
              KEEPALIVE_IDLE_SECONDS)
          .option(
              NioChannelOption.of(jdk.net.ExtendedSocketOptions.TCP_KEEPINTERVAL),
              KEEPALIVE_INTERVAL_SECONDS)
          .option(
              NioChannelOption.of(jdk.net.ExtendedSocketOptions.TCP_KEEPCOUNT), KEEPALIVE_PROBES);
    }
  }
}
