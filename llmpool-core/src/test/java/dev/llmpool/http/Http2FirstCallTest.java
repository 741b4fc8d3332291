package dev.llmpool.http;

import static java.nio.charset.StandardCharsets.US_ASCII;
import static org.assertj.core.api.Assertions.assertThat;

import dev.llmpool.LlmPool;
import dev.llmpool.Timeouts;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.pkitesting.CertificateBuilder;
import io.netty.pkitesting.X509Bundle;
import java.net.InetSocketAddress;
import java.security.KeyStore;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The first call on a new HTTP/2 connection over TLS does not wait for the server's SETTINGS: they
 * come only after the server's side of the handshake, a round trip later, and waiting for them made
 * every new connection cost four round trips instead of three.
 *
 * <p>The server here proves it without a clock: it sends its SETTINGS only after it has received
 * the client's first request HEADERS. A client that waited for the SETTINGS would wait until {@code
 * timeouts.connect} and fail.
 */
class Http2FirstCallTest {
  private EventLoopGroup group;
  private Channel server;
  private X509TrustManager trust;
  private final AtomicInteger settingsSentAfterHeaders = new AtomicInteger();
  private final AtomicInteger connections = new AtomicInteger();

  @BeforeEach
  void setUp() throws Exception {
    X509Bundle cert =
        new CertificateBuilder()
            .subject("CN=127.0.0.1")
            .addSanIpAddress("127.0.0.1")
            .setIsCertificateAuthority(true)
            .ecp256()
            .buildSelfSigned();
    SslContext ssl =
        SslContextBuilder.forServer(cert.getKeyPair().getPrivate(), cert.getCertificate())
            .applicationProtocolConfig(
                new ApplicationProtocolConfig(
                    ApplicationProtocolConfig.Protocol.ALPN,
                    ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
                    ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT,
                    ApplicationProtocolNames.HTTP_2))
            .build();
    group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    server =
        new ServerBootstrap()
            .group(group)
            .channel(NioServerSocketChannel.class)
            .childHandler(
                new ChannelInitializer<SocketChannel>() {
                  @Override
                  protected void initChannel(SocketChannel c) {
                    connections.incrementAndGet();
                    c.pipeline().addLast(ssl.newHandler(c.alloc()), new SettingsLastServer());
                  }
                })
            .bind(new InetSocketAddress("127.0.0.1", 0))
            .sync()
            .channel();
    KeyStore ks = KeyStore.getInstance("PKCS12");
    ks.load(null, null);
    ks.setCertificateEntry("server", cert.getCertificate());
    TrustManagerFactory tmf =
        TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(ks);
    trust = (X509TrustManager) tmf.getTrustManagers()[0];
  }

  @AfterEach
  void tearDown() throws Exception {
    server.close().sync();
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
  }

  @Test
  void theFirstCallGoesBeforeTheServersSettingsAndLaterCallsShareTheConnection() {
    int port = ((InetSocketAddress) server.localAddress()).getPort();
    try (LlmPool pool =
        LlmPool.builder()
            .baseUrl("https://127.0.0.1:" + port)
            .trustManager(trust)
            .timeouts(Timeouts.builder().connect(Duration.ofSeconds(30)).build())
            .ioThreads(1)
            .build()) {
      HttpResponse first = pool.send(HttpRequest.get("/first").build());
      assertThat(first.status()).isEqualTo(200);
      assertThat(first.version()).isEqualTo(HttpVersion.HTTP_2);
      assertThat(first.bodyString()).isEqualTo("ok");
      assertThat(settingsSentAfterHeaders.get()).isEqualTo(1);

      HttpResponse second = pool.send(HttpRequest.get("/second").build());
      assertThat(second.bodyString()).isEqualTo("ok");
      assertThat(pool.stats().opened()).isEqualTo(1);
      assertThat(connections.get()).isEqualTo(1);
    }
  }

  /**
   * Speaks just enough HTTP/2 by hand: skips the client preface, and for each request HEADERS
   * answers {@code :status 200} (HPACK static index 8) and "ok"; its own SETTINGS (empty: no limit)
   * and the ACK of the client's go out only with the first answer.
   */
  private final class SettingsLastServer extends ChannelInboundHandlerAdapter {
    private static final int PREFACE_LENGTH = 24;
    private final ByteBuf in = Unpooled.buffer();
    private boolean prefaceSkipped;
    private boolean settingsSent;

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      ByteBuf b = (ByteBuf) msg;
      try {
        in.writeBytes(b);
      } finally {
        b.release();
      }
      if (!prefaceSkipped) {
        if (in.readableBytes() < PREFACE_LENGTH) {
          return;
        }
        in.skipBytes(PREFACE_LENGTH);
        prefaceSkipped = true;
      }
      while (in.readableBytes() >= 9) {
        int length = in.getUnsignedMedium(in.readerIndex());
        if (in.readableBytes() < 9 + length) {
          return;
        }
        int type = in.getUnsignedByte(in.readerIndex() + 3);
        int streamId = in.getInt(in.readerIndex() + 5) & 0x7fffffff;
        in.skipBytes(9 + length);
        if (type == 0x1) { // HEADERS
          ByteBuf out = ctx.alloc().buffer();
          if (!settingsSent) {
            settingsSent = true;
            settingsSentAfterHeaders.incrementAndGet();
            frame(out, 0x4, 0x0, 0, new byte[0]); // SETTINGS, no limit stated
            frame(out, 0x4, 0x1, 0, new byte[0]); // ACK of the client's SETTINGS
          }
          frame(out, 0x1, 0x4, streamId, new byte[] {(byte) 0x88}); // :status 200, END_HEADERS
          frame(out, 0x0, 0x1, streamId, "ok".getBytes(US_ASCII)); // DATA, END_STREAM
          ctx.writeAndFlush(out);
        }
      }
      in.discardReadBytes();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
      in.release();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      ctx.close();
    }

    private void frame(ByteBuf out, int type, int flags, int streamId, byte[] payload) {
      out.writeMedium(payload.length);
      out.writeByte(type);
      out.writeByte(flags);
      out.writeInt(streamId);
      out.writeBytes(payload);
    }
  }
}
