package dev.llmpool.testkit.internal;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;

/**
 * A Netty transport: epoll where the platform has it, NIO otherwise. The event-loop group is
 * created here with daemon threads named after their owner, so a leak check can find them and a
 * forgotten {@code close()} never keeps a JVM alive.
 */
public final class Transports {
  private static final InetAddress LOOPBACK;

  static {
    try {
      LOOPBACK = InetAddress.getByAddress("127.0.0.1", new byte[] {127, 0, 0, 1});
    } catch (UnknownHostException e) {
      throw new ExceptionInInitializerError(e); // cannot happen: four bytes need no lookup
    }
  }

  /** 127.0.0.1, without a name lookup: the testkit binds IPv4 loopback only. */
  public static InetAddress loopback() {
    return LOOPBACK;
  }

  /**
   * Binds to 127.0.0.1 on {@code port} (0 for a free one) and waits.
   *
   * @return the listening channel
   * @throws UncheckedIOException naming the address when it cannot be bound
   */
  public static Channel bind(ServerBootstrap bootstrap, int port) {
    ChannelFuture bound =
        bootstrap.bind(new InetSocketAddress(LOOPBACK, port)).awaitUninterruptibly();
    if (!bound.isSuccess()) {
      Throwable cause = bound.cause();
      throw new UncheckedIOException(
          "cannot listen on 127.0.0.1:" + port + ": " + cause.getMessage(),
          cause instanceof IOException io ? io : new IOException(cause));
    }
    return bound.channel();
  }

  /** The port a listening channel is bound to. */
  public static int port(Channel listener) {
    return ((InetSocketAddress) listener.localAddress()).getPort();
  }

  /**
   * Closes the listener, then stops the group: its loops close every channel left, cancel every
   * timer, and their threads end (waited for, within bounds).
   */
  public static void stop(@Nullable Channel listener, @Nullable EventLoopGroup group) {
    if (listener != null) {
      listener.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
    }
    if (group != null) {
      group.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly(10, TimeUnit.SECONDS);
    }
  }

  /** The transport to use: epoll when available and wanted. */
  public static Transport select(boolean preferEpoll) {
    return preferEpoll && Epoll.isAvailable() ? Transport.EPOLL : Transport.NIO;
  }

  /** One of the two transports the testkit runs on. */
  public enum Transport {
    /** Linux epoll through Netty's native transport. */
    EPOLL,
    /** java.nio selectors: everywhere. */
    NIO;

    /** A new event-loop group of {@code threads} daemon threads named {@code name-N-M}. */
    public EventLoopGroup newGroup(int threads, String name) {
      IoHandlerFactory factory =
          this == EPOLL ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
      return new MultiThreadIoEventLoopGroup(
          threads, new DefaultThreadFactory(name, /* daemon= */ true), factory);
    }

    /** The listening channel class for this transport. */
    public Class<? extends ServerChannel> serverChannel() {
      return this == EPOLL ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
    }

    /** The connected channel class for this transport. */
    public Class<? extends SocketChannel> socketChannel() {
      return this == EPOLL ? EpollSocketChannel.class : NioSocketChannel.class;
    }
  }

  private Transports() {}
}
