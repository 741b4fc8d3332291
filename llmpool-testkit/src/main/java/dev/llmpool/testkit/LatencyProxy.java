package dev.llmpool.testkit;

import dev.llmpool.testkit.internal.DelayLine;
import dev.llmpool.testkit.internal.Futures;
import dev.llmpool.testkit.internal.Transports;
import dev.llmpool.testkit.internal.Transports.Transport;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.DuplexChannel;
import io.netty.channel.socket.SocketChannel;
import io.netty.util.ReferenceCountUtil;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Objects;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.jspecify.annotations.Nullable;

/**
 * A TCP proxy on 127.0.0.1 that adds a network's round trip time in front of any server, in the
 * spirit of Toxiproxy's latency toxic: loopback answers in microseconds, which hides exactly what
 * connection reuse saves.
 *
 * <p>Every chunk of bytes is held for RTT/2 in each direction (plus a jitter drawn from a seeded
 * generator, without reordering), and the first client bytes of each new connection wait one RTT
 * more, standing for the TCP handshake that loopback does not pay. So at RTT = 50 ms a cold TLS 1.3
 * request costs about 3 RTT (TCP, TLS, request) and a request on a warm connection about 1 RTT, as
 * on a real network. Closing and half-closing (FIN) travel with the same delay; a reset (RST) is
 * passed on as a reset.
 *
 * <pre>{@code
 * try (MockLlmServer server = MockLlmServer.builder().tls(true).start();
 *      LatencyProxy proxy = LatencyProxy.builder().target(server.port()).rtt(Duration.ofMillis(50)).start()) {
 *   URI base = proxy.baseUrl("https");   // the certificate is valid for 127.0.0.1 on any port
 * }
 * }</pre>
 *
 * <p>Threading: thread-safe. Timers run on the proxy's own small event-loop group, never on a
 * sleeping thread; both sides of a proxied connection share one event loop, which confines each
 * connection's state.
 */
public final class LatencyProxy implements AutoCloseable {
  private static final String HOST = "127.0.0.1";
  private static final long HIGH_WATER = 1 << 20;
  private static final long LOW_WATER = 256 << 10;

  private final InetSocketAddress target;
  private final int requestedPort;
  private final long oneWayNanos;
  private final long rttNanos;
  private final long jitterNanos;
  private final long seed;
  private final boolean handshakeRoundTrip;
  private final int threads;
  private final Transport transport;

  private final AtomicLong connectionsAccepted = new AtomicLong();
  private final AtomicInteger connectionsOpen = new AtomicInteger();
  private final AtomicLong bytesToServer = new AtomicLong();
  private final AtomicLong bytesToClient = new AtomicLong();

  private final Object lifecycle = new Object();
  // Guarded by lifecycle.
  private boolean started;
  private boolean closed;
  private @Nullable EventLoopGroup group;
  private @Nullable Channel listener;
  private volatile int port = -1;

  private LatencyProxy(Builder b, InetSocketAddress target) {
    this.target = target;
    this.requestedPort = b.port;
    this.rttNanos = b.rtt.toNanos();
    this.oneWayNanos = rttNanos / 2;
    this.jitterNanos = b.jitter.toNanos();
    this.seed = b.seed;
    this.handshakeRoundTrip = b.handshakeRoundTrip;
    this.threads = b.eventLoopThreads;
    this.transport = b.transport;
  }

  /** A builder; {@link Builder#target} is required. */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * Binds 127.0.0.1 and starts proxying.
   *
   * @return this proxy
   * @throws UncheckedIOException when the port cannot be bound
   */
  public LatencyProxy start() {
    synchronized (lifecycle) {
      if (started || closed) {
        throw new IllegalStateException(closed ? "closed" : "already started");
      }
      started = true;
      EventLoopGroup g = transport.newGroup(threads, "llmpool-proxy");
      group = g;
      ServerBootstrap bootstrap =
          new ServerBootstrap()
              .group(g)
              .channel(transport.serverChannel())
              .option(ChannelOption.SO_BACKLOG, 1024)
              .childOption(ChannelOption.AUTO_READ, false)
              .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
              .childOption(ChannelOption.TCP_NODELAY, true)
              .childHandler(
                  new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                      accept(ch);
                    }
                  });
      try {
        Channel l = Transports.bind(bootstrap, requestedPort);
        listener = l;
        port = Transports.port(l);
      } catch (RuntimeException e) {
        Transports.stop(null, g);
        throw e;
      }
      return this;
    }
  }

  /** Closes every proxied connection and stops the event loops, waiting for their threads. */
  @Override
  public void close() {
    synchronized (lifecycle) {
      if (closed) {
        return;
      }
      closed = true;
      Transports.stop(listener, group);
    }
  }

  /** The port the proxy listens on. */
  public int port() {
    int p = port;
    if (p < 0) {
      throw new IllegalStateException("not started");
    }
    return p;
  }

  /** {@code scheme://127.0.0.1:PORT}, for example {@code baseUrl("https")}. */
  public URI baseUrl(String scheme) {
    return URI.create(scheme + "://" + HOST + ":" + port());
  }

  /** Where the proxy forwards to. */
  public InetSocketAddress target() {
    return target;
  }

  /** The round trip time it adds. */
  public Duration rtt() {
    return Duration.ofNanos(rttNanos);
  }

  /** Client connections accepted since start. */
  public long connectionsAccepted() {
    return connectionsAccepted.get();
  }

  /** Client connections open now. */
  public int connectionsOpen() {
    return connectionsOpen.get();
  }

  /** Bytes forwarded from clients to the server. */
  public long bytesToServer() {
    return bytesToServer.get();
  }

  /** Bytes forwarded from the server to clients. */
  public long bytesToClient() {
    return bytesToClient.get();
  }

  @Override
  public String toString() {
    int p = port;
    return "LatencyProxy{"
        + (p < 0 ? "not started" : HOST + ":" + p)
        + " -> "
        + target.getHostString()
        + ":"
        + target.getPort()
        + ", rtt="
        + rtt()
        + "}";
  }

  // ---------------------------------------------------------------- one proxied connection

  private void accept(SocketChannel front) {
    long n = connectionsAccepted.incrementAndGet();
    connectionsOpen.incrementAndGet();
    front.closeFuture().addListener(f -> connectionsOpen.decrementAndGet());
    long now = front.eventLoop().ticker().nanoTime();
    SplittableRandom seeds = new SplittableRandom(seed ^ (n * 0x9E3779B97F4A7C15L));
    Pipe toServer =
        new Pipe(
            front,
            new DelayLine(
                oneWayNanos,
                jitterNanos,
                seeds.nextLong(),
                handshakeRoundTrip ? now + rttNanos : Long.MIN_VALUE),
            bytesToServer);
    Pipe toClient =
        new Pipe(
            null,
            new DelayLine(oneWayNanos, jitterNanos, seeds.nextLong(), Long.MIN_VALUE),
            bytesToClient);
    front.pipeline().addLast(new Side(toServer, toClient));
    new Bootstrap()
        .group(front.eventLoop()) // both sides on one loop: the pipes need no lock
        .channel(transport.socketChannel())
        .option(ChannelOption.AUTO_READ, false)
        .option(ChannelOption.ALLOW_HALF_CLOSURE, true)
        .option(ChannelOption.TCP_NODELAY, true)
        .handler(
            new ChannelInitializer<SocketChannel>() {
              @Override
              protected void initChannel(SocketChannel back) {
                back.pipeline().addLast(new Side(toClient, toServer));
              }
            })
        .connect(target)
        .addListener(
            (ChannelFuture f) -> {
              if (!f.isSuccess()) {
                Futures.ignore(front.close());
                return;
              }
              Channel back = f.channel();
              toServer.to = back;
              toClient.to = front;
              toClient.from = back;
              toServer.from = front;
              toServer.arm(front); // what the client sent meanwhile
              setReading(front, true);
              setReading(back, true);
            });
  }

  /**
   * Turns reading on or off, but not on a channel whose input has ended: epoll then has nothing to
   * watch and Netty's attempt to change the interest set fails.
   */
  private static void setReading(Channel ch, boolean on) {
    if (!ch.isActive()
        || (ch instanceof DuplexChannel duplex && duplex.isInputShutdown())
        || ch.config().isAutoRead() == on) {
      return;
    }
    ch.config().setAutoRead(on);
  }

  /** What travels: bytes, or the end of the stream. */
  private static final class Item {
    static final int DATA = 0;
    static final int SHUTDOWN_OUTPUT = 1;
    static final int CLOSE = 2;
    static final int RESET = 3;

    final int kind;
    final @Nullable ByteBuf bytes;
    final long releaseAt;

    Item(int kind, @Nullable ByteBuf bytes, long releaseAt) {
      this.kind = kind;
      this.bytes = bytes;
      this.releaseAt = releaseAt;
    }
  }

  /**
   * One direction of one connection: a FIFO of items, each released at its time by a single timer
   * for the head (so order never depends on timer ties). Confined to the event loop.
   */
  private static final class Pipe {
    @Nullable Channel from;
    @Nullable Channel to;
    final DelayLine line;
    final AtomicLong forwarded;
    final ArrayDeque<Item> queue = new ArrayDeque<>();
    long pending;
    boolean timerSet;

    Pipe(@Nullable Channel from, DelayLine line, AtomicLong forwarded) {
      this.from = from;
      this.line = line;
      this.forwarded = forwarded;
    }

    void offer(Channel source, int kind, @Nullable ByteBuf bytes) {
      long now = source.eventLoop().ticker().nanoTime();
      queue.addLast(new Item(kind, bytes, line.releaseAt(now)));
      if (bytes != null) {
        pending += bytes.readableBytes();
      }
      updateReading();
      arm(source);
    }

    /** Sets the timer for the head item, once there is a destination to deliver to. */
    void arm(Channel anyOnLoop) {
      Item head = queue.peekFirst();
      if (head == null || timerSet || to == null) {
        return; // before the server side connects, items wait (epoll may read a FIN early)
      }
      timerSet = true;
      long delay = head.releaseAt - anyOnLoop.eventLoop().ticker().nanoTime();
      Futures.ignore(
          anyOnLoop
              .eventLoop()
              .schedule(() -> drain(anyOnLoop), Math.max(0, delay), TimeUnit.NANOSECONDS));
    }

    private void drain(Channel anyOnLoop) {
      timerSet = false;
      long now = anyOnLoop.eventLoop().ticker().nanoTime();
      Channel dest = to;
      if (dest == null) {
        return;
      }
      boolean wrote = false;
      Item head;
      while ((head = queue.peekFirst()) != null && head.releaseAt <= now) {
        queue.pollFirst();
        ByteBuf b = head.bytes;
        if (b != null) {
          int size = b.readableBytes();
          pending -= size;
          if (dest.isActive()) {
            forwarded.addAndGet(size);
            Futures.closeOnFailure(dest.write(b));
            wrote = true;
          } else {
            b.release();
          }
          continue;
        }
        if (wrote) {
          dest.flush();
          wrote = false;
        }
        switch (head.kind) {
          case Item.SHUTDOWN_OUTPUT -> {
            if (dest instanceof DuplexChannel d && dest.isActive()) {
              if (d.isInputShutdown()) {
                Futures.ignore(d.close()); // both directions have ended for it
              } else {
                Futures.ignore(d.shutdownOutput());
              }
            }
          }
          case Item.RESET -> {
            dest.config().setOption(ChannelOption.SO_LINGER, 0);
            Futures.ignore(dest.close());
          }
          default -> Futures.ignore(dest.close());
        }
      }
      if (wrote) {
        dest.flush();
      }
      updateReading();
      arm(anyOnLoop);
    }

    /** Back-pressure: stop reading the source while too much waits or the destination is full. */
    void updateReading() {
      Channel src = from;
      Channel dest = to;
      if (src == null || dest == null || !src.isActive()) {
        return;
      }
      boolean read =
          pending < (src.config().isAutoRead() ? HIGH_WATER : LOW_WATER) && dest.isWritable();
      setReading(src, read);
    }

    void releaseAll() {
      Item i;
      while ((i = queue.pollFirst()) != null) {
        if (i.bytes != null) {
          i.bytes.release();
        }
      }
      pending = 0;
    }
  }

  /** The handler on either side: what it reads goes into {@code out}; {@code in} flows to it. */
  private static final class Side extends ChannelInboundHandlerAdapter {
    private final Pipe out;
    private final Pipe in;
    private boolean reset;

    Side(Pipe out, Pipe in) {
      this.out = out;
      this.in = in;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (msg instanceof ByteBuf bytes) {
        out.offer(ctx.channel(), Item.DATA, bytes);
      } else {
        ReferenceCountUtil.release(msg);
      }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
      if (evt instanceof ChannelInputShutdownEvent) {
        out.offer(ctx.channel(), Item.SHUTDOWN_OUTPUT, null);
        if (((DuplexChannel) ctx.channel()).isOutputShutdown()) {
          Futures.ignore(ctx.close()); // both directions ended for it; the FIN above still goes
        }
      }
      ctx.fireUserEventTriggered(evt);
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
      in.updateReading();
      ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
      out.offer(ctx.channel(), reset ? Item.RESET : Item.CLOSE, null);
      in.releaseAll(); // nothing more can reach this side
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      // A reset by the peer: pass it on as a reset once the bytes before it have gone through.
      reset = cause instanceof IOException;
      Futures.ignore(ctx.close());
    }
  }

  /** Settings of a {@link LatencyProxy}. */
  public static final class Builder {
    private @Nullable InetSocketAddress target;
    private int port;
    private Duration rtt = Duration.ofMillis(50);
    private Duration jitter = Duration.ZERO;
    private long seed;
    private boolean handshakeRoundTrip = true;
    private int eventLoopThreads = 1;
    private Transport transport = Transports.select(true);

    private Builder() {}

    /** The server to forward to, on 127.0.0.1. */
    public Builder target(int port) {
      return target(new InetSocketAddress(Transports.loopback(), port));
    }

    /** The server to forward to. */
    public Builder target(InetSocketAddress target) {
      this.target = Objects.requireNonNull(target, "target");
      return this;
    }

    /** The port to listen on; 0 (the default) for a free one. */
    public Builder port(int port) {
      this.port = port;
      return this;
    }

    /** The round trip time: RTT/2 each way. Default 50 ms. */
    public Builder rtt(Duration rtt) {
      this.rtt = Objects.requireNonNull(rtt, "rtt");
      return this;
    }

    /**
     * The largest extra delay per chunk and direction, drawn uniformly from a generator seeded per
     * connection from {@link #seed}; order is kept. Default zero.
     */
    public Builder jitter(Duration jitter) {
      this.jitter = Objects.requireNonNull(jitter, "jitter");
      return this;
    }

    /** The jitter's seed. Default 0. */
    public Builder seed(long seed) {
      this.seed = seed;
      return this;
    }

    /**
     * Whether a new connection's first client bytes wait one RTT more, for the TCP handshake.
     * Default true.
     */
    public Builder handshakeRoundTrip(boolean on) {
      this.handshakeRoundTrip = on;
      return this;
    }

    /** Event-loop threads. Default 1. */
    public Builder eventLoopThreads(int threads) {
      this.eventLoopThreads = threads;
      return this;
    }

    /** For tests: run on NIO even where epoll is available. */
    Builder transport(Transport transport) {
      this.transport = transport;
      return this;
    }

    /**
     * The proxy, not started.
     *
     * @throws IllegalArgumentException when the target is missing or a duration is negative
     */
    public LatencyProxy build() {
      InetSocketAddress t = target;
      if (t == null) {
        throw new IllegalArgumentException("target is required");
      }
      if (rtt.isNegative() || jitter.isNegative()) {
        throw new IllegalArgumentException("rtt and jitter must not be negative");
      }
      if (port < 0 || port > 65535) {
        throw new IllegalArgumentException("port must be 0-65535: " + port);
      }
      if (eventLoopThreads < 1 || eventLoopThreads > 64) {
        throw new IllegalArgumentException("eventLoopThreads must be 1-64");
      }
      return new LatencyProxy(this, t);
    }

    /** Builds and starts the proxy. */
    public LatencyProxy start() {
      return build().start();
    }
  }
}
