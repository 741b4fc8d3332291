package dev.llmpool.testkit;

import dev.llmpool.testkit.internal.Futures;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufHolder;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.ChannelPromise;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http2.Http2CodecUtil;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.ApplicationProtocolNegotiationHandler;
import io.netty.handler.ssl.SslContext;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * Sets up each accepted connection: a byte counter next to the socket, then TLS with ALPN, or (in
 * cleartext) a look at the first bytes for the HTTP/2 preface; then the HTTP/1.1 or HTTP/2 handler.
 */
final class ServerInitializer extends ChannelInitializer<SocketChannel> {
  private final ServerCore core;
  private final @Nullable SslContext ssl;

  ServerInitializer(ServerCore core, @Nullable SslContext ssl) {
    this.core = core;
    this.ssl = ssl;
  }

  @Override
  protected void initChannel(SocketChannel ch) {
    Conn conn = core.newConnection(ch, ssl != null);
    ch.closeFuture().addListener(f -> core.connectionClosed(conn));
    ChannelPipeline p = ch.pipeline();
    p.addLast("bytes", new ByteCounter(core, conn));
    SslContext tls = ssl;
    if (tls != null) {
      p.addLast("tls", tls.newHandler(ch.alloc()));
      p.addLast("alpn", new Alpn(core, conn));
    } else if (core.config.http1Only()) {
      configureHttp1(core, conn, p);
    } else {
      p.addLast("detect", new PrefaceDetector(core, conn));
    }
    conn.startIdleTimer();
  }

  static void configureHttp1(ServerCore core, Conn conn, ChannelPipeline p) {
    HttpDecoderConfig decoder =
        new HttpDecoderConfig()
            .setMaxInitialLineLength(8192)
            .setMaxHeaderSize(core.config.maxHeaderBytes())
            .setMaxChunkSize(64 * 1024);
    p.addLast("http1", new HttpServerCodec(decoder));
    p.addLast("exchange", new Http1Handler(core, conn));
    conn.protocol(Protocol.HTTP_1_1, () -> Futures.ignore(conn.channel.close()));
  }

  static void configureHttp2(ServerCore core, Conn conn, ChannelPipeline p, Protocol protocol) {
    Http2Handler.install(core, conn, p, protocol);
  }

  /** Counts the bytes on the wire, TLS records included. */
  static final class ByteCounter extends ChannelDuplexHandler {
    private final ServerCore core;
    private final Conn conn;

    ByteCounter(ServerCore core, Conn conn) {
      this.core = core;
      this.conn = conn;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      core.bytesIn(conn, size(msg));
      ctx.fireChannelRead(msg);
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
      core.bytesOut(conn, size(msg));
      Futures.ignore(ctx.write(msg, promise)); // the promise is the caller's
    }

    private static long size(Object msg) {
      if (msg instanceof ByteBuf bytes) {
        return bytes.readableBytes();
      }
      if (msg instanceof ByteBufHolder holder) {
        return holder.content().readableBytes();
      }
      return 0;
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      // A client that vanished, garbage, a failed handshake: close this connection only.
      Futures.ignore(ctx.close());
    }
  }

  /** Picks the protocol from ALPN after the TLS handshake; no ALPN means HTTP/1.1. */
  static final class Alpn extends ApplicationProtocolNegotiationHandler {
    private final ServerCore core;
    private final Conn conn;

    Alpn(ServerCore core, Conn conn) {
      super(ApplicationProtocolNames.HTTP_1_1);
      this.core = core;
      this.conn = conn;
    }

    @Override
    protected void configurePipeline(ChannelHandlerContext ctx, String protocol) {
      core.tlsHandshakeCompleted();
      if (ApplicationProtocolNames.HTTP_2.equals(protocol)) {
        configureHttp2(core, conn, ctx.pipeline(), Protocol.H2);
      } else {
        configureHttp1(core, conn, ctx.pipeline());
      }
    }

    @Override
    protected void handshakeFailure(ChannelHandlerContext ctx, Throwable cause) {
      // Not worth a log line in a test server: a client that is not speaking TLS, or gave up.
      Futures.ignore(ctx.close());
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      Futures.ignore(ctx.close());
    }
  }

  /**
   * Cleartext: the HTTP/2 connection preface means h2c with prior knowledge, anything else
   * HTTP/1.1. Decides on the first byte that differs from the preface, so a short HTTP/1.1 request
   * is not held back.
   */
  static final class PrefaceDetector extends ByteToMessageDecoder {
    private static final ByteBuf PREFACE = Http2CodecUtil.connectionPrefaceBuf();
    private final ServerCore core;
    private final Conn conn;

    PrefaceDetector(ServerCore core, Conn conn) {
      this.core = core;
      this.conn = conn;
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
      int n = Math.min(in.readableBytes(), PREFACE.readableBytes());
      for (int i = 0; i < n; i++) {
        if (in.getByte(in.readerIndex() + i) != PREFACE.getByte(PREFACE.readerIndex() + i)) {
          configureHttp1(core, conn, ctx.pipeline());
          ctx.pipeline().remove(this); // hands the bytes read so far to the new handlers
          return;
        }
      }
      if (n == PREFACE.readableBytes()) {
        configureHttp2(core, conn, ctx.pipeline(), Protocol.H2C);
        ctx.pipeline().remove(this);
      }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      Futures.ignore(ctx.close());
    }
  }
}
