package dev.llmpool.testkit;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2ConnectionHandler;
import io.netty.handler.codec.http2.Http2ConnectionHandlerBuilder;
import io.netty.handler.codec.http2.Http2EventAdapter;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2SecurityUtil;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.netty.handler.ssl.SupportedCipherSuiteFilter;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * A raw HTTP/2 client on Netty for what the JDK's client cannot do or show: h2c with prior
 * knowledge, SETTINGS values, GOAWAY, RST_STREAM codes, a request body sent in pieces.
 */
final class H2Client implements AutoCloseable {
  static final Duration WAIT = Duration.ofSeconds(20);

  private final EventLoopGroup group =
      new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
  private final Channel channel;
  private final Http2ConnectionHandler handler;
  private final Map<Integer, Response> responses = new ConcurrentHashMap<>();
  private final boolean tls;

  final CompletableFuture<Http2Settings> settings = new CompletableFuture<>();

  /** GOAWAY received: {last-stream-id, error code}. */
  final CompletableFuture<long[]> goAway = new CompletableFuture<>();

  final CompletableFuture<Void> closed = new CompletableFuture<>();

  /** Every GOAWAY received, in order: {last-stream-id, error code}. */
  final java.util.List<long[]> goAways = new java.util.concurrent.CopyOnWriteArrayList<>();

  /** One stream's response as it arrives. */
  static final class Response {
    final int streamId;
    volatile Http2Headers headers = new DefaultHttp2Headers();
    final ByteArrayOutputStream body = new ByteArrayOutputStream();
    volatile boolean endStream;
    volatile long resetCode = -1;
    volatile boolean connectionClosed;
    final CompletableFuture<Response> done = new CompletableFuture<>();
    final CompletableFuture<Response> headersArrived = new CompletableFuture<>();
    final CompletableFuture<Long> reset = new CompletableFuture<>();

    Response(int streamId) {
      this.streamId = streamId;
    }

    int status() {
      return Integer.parseInt(headers.status().toString());
    }

    synchronized String bodyUtf8() {
      return body.toString(StandardCharsets.UTF_8);
    }

    synchronized int bodySize() {
      return body.size();
    }

    Response await() {
      return done.orTimeout(WAIT.toSeconds(), TimeUnit.SECONDS).join();
    }
  }

  H2Client(MockLlmServer server) {
    this.tls = server.tls();
    SslContext ssl = tls ? clientSsl(server) : null;
    Http2EventAdapter listener = new Listener();
    this.handler =
        new Http2ConnectionHandlerBuilder()
            .server(false)
            .frameListener(listener)
            .initialSettings(new Http2Settings())
            .encoderIgnoreMaxHeaderListSize(true) // to send what the server's limit forbids
            .gracefulShutdownTimeoutMillis(0)
            .build();
    handler.connection().addListener(listener);
    this.channel =
        new Bootstrap()
            .group(group)
            .channel(NioSocketChannel.class)
            .handler(
                new ChannelInitializer<SocketChannel>() {
                  @Override
                  protected void initChannel(SocketChannel ch) {
                    if (ssl != null) {
                      ch.pipeline().addLast(ssl.newHandler(ch.alloc(), "127.0.0.1", server.port()));
                    }
                    ch.pipeline().addLast(handler);
                    ch.pipeline()
                        .addLast(
                            new ChannelInboundHandlerAdapter() {
                              @Override
                              public void channelInactive(ChannelHandlerContext ctx) {
                                for (Response r : responses.values()) {
                                  r.connectionClosed = true;
                                  r.headersArrived.complete(r);
                                  r.done.complete(r);
                                }
                                closed.complete(null);
                              }

                              @Override
                              public void exceptionCaught(ChannelHandlerContext ctx, Throwable t) {
                                ctx.close();
                              }
                            });
                  }
                })
            .connect("127.0.0.1", server.port())
            .syncUninterruptibly()
            .channel();
  }

  private static SslContext clientSsl(MockLlmServer server) {
    try {
      return SslContextBuilder.forClient()
          .sslProvider(SslProvider.JDK)
          .trustManager(server.certificate().trustManager())
          .ciphers(Http2SecurityUtil.CIPHERS, SupportedCipherSuiteFilter.INSTANCE)
          .applicationProtocolConfig(
              new ApplicationProtocolConfig(
                  ApplicationProtocolConfig.Protocol.ALPN,
                  ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
                  ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT,
                  ApplicationProtocolNames.HTTP_2))
          .build();
    } catch (javax.net.ssl.SSLException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Opens a stream; the body (when not null) follows the headers. */
  Response send(
      String method, String path, Map<String, String> headers, byte[] body, boolean endStream) {
    CompletableFuture<Response> f = new CompletableFuture<>();
    channel
        .eventLoop()
        .execute(
            () -> {
              ChannelHandlerContext ctx = channel.pipeline().context(handler);
              int id = handler.connection().local().incrementAndGetNextStreamId();
              Response r = new Response(id);
              responses.put(id, r);
              Http2Headers h =
                  new DefaultHttp2Headers()
                      .method(method)
                      .path(path)
                      .scheme(tls ? "https" : "http")
                      .authority("127.0.0.1");
              headers.forEach(h::add);
              boolean noBody = body.length == 0;
              handler.encoder().writeHeaders(ctx, id, h, 0, noBody && endStream, ctx.newPromise());
              if (!noBody) {
                handler
                    .encoder()
                    .writeData(
                        ctx, id, Unpooled.wrappedBuffer(body), 0, endStream, ctx.newPromise());
              }
              handler.flush(ctx);
              f.complete(r);
            });
    return f.join();
  }

  /** A chat completion request with a bearer token, plus extra headers. */
  Response chat(String json, Map<String, String> extra) {
    Map<String, String> h = new java.util.LinkedHashMap<>();
    h.put("authorization", "Bearer test-key");
    h.put("content-type", "application/json");
    h.putAll(extra);
    return send("POST", "/v1/chat/completions", h, json.getBytes(StandardCharsets.UTF_8), true);
  }

  /** Opens several chat streams in one go, before any frame from the server can intervene. */
  java.util.List<Response> batch(String json, java.util.List<Map<String, String>> extras) {
    CompletableFuture<java.util.List<Response>> f = new CompletableFuture<>();
    channel
        .eventLoop()
        .execute(
            () -> {
              ChannelHandlerContext ctx = channel.pipeline().context(handler);
              java.util.List<Response> out = new java.util.ArrayList<>();
              for (Map<String, String> extra : extras) {
                int id = handler.connection().local().incrementAndGetNextStreamId();
                Response r = new Response(id);
                responses.put(id, r);
                Http2Headers h =
                    new DefaultHttp2Headers()
                        .method("POST")
                        .path("/v1/chat/completions")
                        .scheme(tls ? "https" : "http")
                        .authority("127.0.0.1");
                h.add("authorization", "Bearer test-key");
                extra.forEach(h::add);
                handler.encoder().writeHeaders(ctx, id, h, 0, false, ctx.newPromise());
                handler
                    .encoder()
                    .writeData(
                        ctx,
                        id,
                        Unpooled.wrappedBuffer(json.getBytes(StandardCharsets.UTF_8)),
                        0,
                        true,
                        ctx.newPromise());
                out.add(r);
              }
              handler.flush(ctx);
              f.complete(out);
            });
    return f.join();
  }

  /**
   * Opens {@code n} chat streams in one go, headers only (no END_STREAM): their bodies follow with
   * {@link #data}.
   */
  java.util.List<Response> open(int n) {
    CompletableFuture<java.util.List<Response>> f = new CompletableFuture<>();
    channel
        .eventLoop()
        .execute(
            () -> {
              ChannelHandlerContext ctx = channel.pipeline().context(handler);
              java.util.List<Response> out = new java.util.ArrayList<>();
              for (int i = 0; i < n; i++) {
                int id = handler.connection().local().incrementAndGetNextStreamId();
                Response r = new Response(id);
                responses.put(id, r);
                handler.encoder().writeHeaders(ctx, id, chatHeaders(), 0, false, ctx.newPromise());
                out.add(r);
              }
              handler.flush(ctx);
              f.complete(out);
            });
    return f.join();
  }

  private Http2Headers chatHeaders() {
    return new DefaultHttp2Headers()
        .method("POST")
        .path("/v1/chat/completions")
        .scheme(tls ? "https" : "http")
        .authority("127.0.0.1")
        .add("authorization", "Bearer test-key")
        .add("content-type", "application/json");
  }

  /**
   * Writes a DATA frame straight to the wire, past this client's stream bookkeeping and flow
   * control: frames a client may have in flight when the server's GOAWAY or RST_STREAM arrives.
   */
  void rawData(int streamId, byte[] bytes, boolean end) {
    raw(
        ctx ->
            handler
                .encoder()
                .frameWriter()
                .writeData(ctx, streamId, Unpooled.wrappedBuffer(bytes), 0, end, ctx.newPromise()));
  }

  /** Writes a WINDOW_UPDATE frame straight to the wire. */
  void rawWindowUpdate(int streamId, int increment) {
    raw(
        ctx ->
            handler
                .encoder()
                .frameWriter()
                .writeWindowUpdate(ctx, streamId, increment, ctx.newPromise()));
  }

  private void raw(java.util.function.Consumer<ChannelHandlerContext> write) {
    channel
        .eventLoop()
        .submit(
            () -> {
              ChannelHandlerContext ctx = channel.pipeline().context(handler);
              write.accept(ctx);
              ctx.flush();
            })
        .syncUninterruptibly();
  }

  /** Lifts this client's own stream limit, so that the server is the one to refuse. */
  void ignoreStreamLimit() {
    settings.join();
    channel
        .eventLoop()
        .submit(() -> handler.connection().local().maxActiveStreams(1000))
        .syncUninterruptibly();
  }

  void data(Response r, byte[] bytes, boolean end) {
    channel
        .eventLoop()
        .execute(
            () -> {
              ChannelHandlerContext ctx = channel.pipeline().context(handler);
              handler
                  .encoder()
                  .writeData(
                      ctx, r.streamId, Unpooled.wrappedBuffer(bytes), 0, end, ctx.newPromise());
              handler.flush(ctx);
            });
  }

  boolean isOpen() {
    return channel.isActive();
  }

  @Override
  public void close() {
    channel.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
  }

  private final class Listener extends Http2EventAdapter {
    @Override
    public void onSettingsRead(ChannelHandlerContext ctx, Http2Settings s) {
      settings.complete(s);
    }

    @Override
    public void onHeadersRead(
        ChannelHandlerContext ctx,
        int streamId,
        Http2Headers headers,
        int dependency,
        short weight,
        boolean exclusive,
        int padding,
        boolean end) {
      onHeadersRead(ctx, streamId, headers, padding, end);
    }

    @Override
    public void onHeadersRead(
        ChannelHandlerContext ctx, int streamId, Http2Headers headers, int padding, boolean end) {
      Response r = responses.get(streamId);
      if (r == null) {
        return;
      }
      if (!r.headersArrived.isDone()) {
        r.headers = headers;
        r.headersArrived.complete(r);
      }
      if (end) {
        r.endStream = true;
        r.done.complete(r);
      }
    }

    @Override
    public int onDataRead(
        ChannelHandlerContext ctx, int streamId, ByteBuf data, int padding, boolean end) {
      int n = data.readableBytes() + padding;
      Response r = responses.get(streamId);
      if (r != null) {
        synchronized (r) {
          r.body.writeBytes(ByteBufUtil.getBytes(data));
        }
        if (end) {
          r.endStream = true;
          r.done.complete(r);
        }
      }
      return n;
    }

    @Override
    public void onRstStreamRead(ChannelHandlerContext ctx, int streamId, long errorCode) {
      Response r = responses.get(streamId);
      if (r != null) {
        r.resetCode = errorCode;
        r.reset.complete(errorCode);
        r.headersArrived.complete(r);
        r.done.complete(r);
      }
    }

    @Override
    public void onStreamClosed(io.netty.handler.codec.http2.Http2Stream stream) {
      Response r = responses.get(stream.id());
      if (r != null) {
        r.headersArrived.complete(r);
        r.done.complete(r); // also when this client reset it (a protocol error it detected)
      }
    }

    @Override
    public void onGoAwayRead(
        ChannelHandlerContext ctx, int lastStreamId, long errorCode, ByteBuf debugData) {
      goAways.add(new long[] {lastStreamId, errorCode});
      goAway.complete(new long[] {lastStreamId, errorCode});
    }
  }
}
