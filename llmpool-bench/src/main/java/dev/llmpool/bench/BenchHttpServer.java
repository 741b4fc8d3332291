package dev.llmpool.bench;

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
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.util.ReferenceCountUtil;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A minimal in-process HTTP server for client benchmarks: answers every request with the same
 * chat-completion JSON, over HTTP/1.1 and h2c (prior knowledge) on one port per protocol. Its
 * threads are named {@code bench-server-*} so that the benchmarks can leave its CPU and allocation
 * out of the client's figures.
 */
public final class BenchHttpServer implements AutoCloseable {
  static final byte[] BODY =
      ("{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"created\":1767225600,"
              + "\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\","
              + "\"content\":\"Hello! How can I help you today?\"},\"finish_reason\":\"stop\"}],"
              + "\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":9,\"total_tokens\":18}}")
          .getBytes(StandardCharsets.UTF_8);

  private final EventLoopGroup group;
  private final Channel h1;
  private final Channel h2;
  private final ByteBuf body =
      Unpooled.unreleasableBuffer(Unpooled.directBuffer().writeBytes(BODY));

  public BenchHttpServer() throws InterruptedException {
    AtomicInteger n = new AtomicInteger();
    ThreadFactory tf =
        r -> {
          Thread t = new Thread(r, "bench-server-" + n.incrementAndGet());
          t.setDaemon(true);
          return t;
        };
    group = new MultiThreadIoEventLoopGroup(1, tf, NioIoHandler.newFactory());
    h1 = bind(new Http1Init());
    h2 = bind(new Http2Init());
  }

  private Channel bind(ChannelInitializer<SocketChannel> init) throws InterruptedException {
    return new ServerBootstrap()
        .group(group)
        .channel(NioServerSocketChannel.class)
        .childHandler(init)
        .bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))
        .sync()
        .channel();
  }

  public int http1Port() {
    return ((InetSocketAddress) h1.localAddress()).getPort();
  }

  public int h2cPort() {
    return ((InetSocketAddress) h2.localAddress()).getPort();
  }

  @Override
  public void close() {
    h1.close().syncUninterruptibly();
    h2.close().syncUninterruptibly();
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
  }

  private final class Http1Init extends ChannelInitializer<SocketChannel> {
    @Override
    protected void initChannel(SocketChannel ch) {
      ch.pipeline()
          .addLast(new HttpServerCodec())
          .addLast(new HttpObjectAggregator(1 << 20))
          .addLast(
              new ChannelInboundHandlerAdapter() {
                @Override
                public void channelRead(ChannelHandlerContext ctx, Object msg) {
                  if (msg instanceof FullHttpRequest req) {
                    req.release();
                    FullHttpResponse res =
                        new DefaultFullHttpResponse(
                            HttpVersion.HTTP_1_1, HttpResponseStatus.OK, body.retainedDuplicate());
                    res.headers()
                        .set(HttpHeaderNames.CONTENT_TYPE, "application/json")
                        .setInt(HttpHeaderNames.CONTENT_LENGTH, BODY.length);
                    var unused = ctx.writeAndFlush(res);
                  } else {
                    ReferenceCountUtil.release(msg);
                  }
                }
              });
    }
  }

  private final class Http2Init extends ChannelInitializer<SocketChannel> {
    @Override
    protected void initChannel(SocketChannel ch) {
      ch.pipeline()
          .addLast(
              Http2FrameCodecBuilder.forServer()
                  .initialSettings(Http2Settings.defaultSettings().maxConcurrentStreams(1000))
                  .build())
          .addLast(
              new ChannelInboundHandlerAdapter() {
                @Override
                public void channelRead(ChannelHandlerContext ctx, Object msg) {
                  try {
                    boolean end = false;
                    io.netty.handler.codec.http2.Http2FrameStream stream = null;
                    if (msg instanceof Http2HeadersFrame h) {
                      end = h.isEndStream();
                      stream = h.stream();
                    } else if (msg instanceof Http2DataFrame d) {
                      end = d.isEndStream();
                      stream = d.stream();
                    }
                    if (end && stream != null) {
                      Http2Headers headers =
                          new DefaultHttp2Headers()
                              .status("200")
                              .set("content-type", "application/json")
                              .setInt("content-length", BODY.length);
                      var unused = ctx.write(new DefaultHttp2HeadersFrame(headers).stream(stream));
                      unused =
                          ctx.writeAndFlush(
                              new DefaultHttp2DataFrame(body.retainedDuplicate(), true)
                                  .stream(stream));
                    }
                  } finally {
                    ReferenceCountUtil.release(msg);
                  }
                }
              });
    }
  }
}
