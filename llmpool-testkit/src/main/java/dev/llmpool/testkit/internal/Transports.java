package dev.llmpool.testkit.internal;

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
import java.net.InetAddress;
import java.net.UnknownHostException;

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
