package dev.llmpool.transport;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2ConnectionDecoder;
import io.netty.handler.codec.http2.Http2ConnectionEncoder;
import io.netty.handler.codec.http2.Http2ConnectionHandler;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2FrameAdapter;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2Settings;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An h2c (prior knowledge) server for transport tests with frame-level control: each complete
 * request is handed to a script that answers, refuses, resets, sends GOAWAY with any last stream
 * id, or closes the TCP connection. Counts connections, requests and peak concurrent streams.
 */
final class H2TestServer implements AutoCloseable {
  /** HEADERS and DATA frames in the order the server read them, as "HEADERS 3", "DATA 3". */
  final List<String> frames = java.util.Collections.synchronizedList(new ArrayList<>());

  /** Decides what happens to one request (on the server's event loop; must not block). */
  @FunctionalInterface
  interface Script {
    void onRequest(Stream s);
  }

  /** One request stream, from the server's side. */
  static final class Stream {
    final H2TestServer server;
    final ConnState conn;
    final int id;
    final Http2Headers headers;
    final String body;
    final int indexOnConnection;

    Stream(
        H2TestServer server,
        ConnState conn,
        int id,
        Http2Headers headers,
        String body,
        int indexOnConnection) {
      this.server = server;
      this.conn = conn;
      this.id = id;
      this.headers = headers;
      this.body = body;
      this.indexOnConnection = indexOnConnection;
    }

    String path() {
      return String.valueOf(headers.path());
    }

    /** Answers 200 with {@code text}, complete. */
    void respond(String text) {
      respond(200, text, true);
    }

    void respond(int status, String text, boolean endStream) {
      Http2Headers h = new DefaultHttp2Headers().status(Integer.toString(status));
      byte[] b = text.getBytes(StandardCharsets.UTF_8);
      h.setInt("content-length", b.length);
      conn.encoder.writeHeaders(conn.ctx, id, h, 0, false, conn.ctx.newPromise());
      conn.encoder.writeData(
          conn.ctx, id, Unpooled.wrappedBuffer(b), 0, endStream, conn.ctx.newPromise());
      conn.flush();
      if (endStream) {
        server.activeStreams.decrementAndGet();
      }
    }

    /** Sends headers only (the body never comes). */
    void respondHeadersOnly() {
      conn.encoder.writeHeaders(
          conn.ctx, id, new DefaultHttp2Headers().status("200"), 0, false, conn.ctx.newPromise());
      conn.flush();
    }

    void reset(Http2Error error) {
      conn.encoder.writeRstStream(conn.ctx, id, error.code(), conn.ctx.newPromise());
      conn.flush();
    }

    /** GOAWAY naming {@code lastStreamId}. */
    void goAway(int lastStreamId) {
      conn.handler.goAway(
          conn.ctx,
          lastStreamId,
          Http2Error.NO_ERROR.code(),
          Unpooled.EMPTY_BUFFER,
          conn.ctx.newPromise());
      conn.flush();
    }

    /** GOAWAY naming {@code lastStreamId} with an error code and debug data. */
    void goAway(int lastStreamId, Http2Error error, byte[] debugData) {
      conn.handler.goAway(
          conn.ctx,
          lastStreamId,
          error.code(),
          Unpooled.wrappedBuffer(debugData),
          conn.ctx.newPromise());
      conn.flush();
    }

    /** Answers with exactly these headers (and no DATA when {@code endStream}). */
    void respondHeaders(Http2Headers h, boolean endStream) {
      conn.encoder.writeHeaders(conn.ctx, id, h, 0, endStream, conn.ctx.newPromise());
      conn.flush();
      if (endStream) {
        server.activeStreams.decrementAndGet();
      }
    }

    /** Closes the TCP connection at once. */
    void closeConnection() {
      conn.ctx.channel().close();
    }
  }

  /** Per-connection state. */
  static final class ConnState {
    ChannelHandlerContext ctx;
    Http2ConnectionEncoder encoder;
    Http2ConnectionHandler handler;
    final AtomicInteger requests = new AtomicInteger();
    int opened;

    /** Through the HTTP/2 handler, which writes flow-controlled DATA before flushing. */
    void flush() {
      handler.flush(ctx);
    }
  }

  private final EventLoopGroup group =
      new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
  private final Channel serverChannel;
  private final Script script;
  final AtomicInteger connections = new AtomicInteger();
  final AtomicInteger requests = new AtomicInteger();
  final AtomicInteger activeStreams = new AtomicInteger();
  final AtomicInteger peakStreams = new AtomicInteger();
  final AtomicInteger pings = new AtomicInteger();
  final AtomicInteger resetsReceived = new AtomicInteger();
  final List<String> paths = new CopyOnWriteArrayList<>();
  final List<String> connectionErrors = new CopyOnWriteArrayList<>();
  private final List<Channel> channels = new CopyOnWriteArrayList<>();
  private final List<ConnState> states = new CopyOnWriteArrayList<>();

  /** When positive: the SETTINGS_MAX_HEADER_LIST_SIZE announced to connections accepted later. */
  volatile long maxHeaderListSize;

  volatile boolean answerPings = true;

  /**
   * When positive: GOAWAY naming the N-th stream as soon as its headers arrive (before its body).
   */
  volatile int goAwayOnHeadersOf;

  /**
   * When non-negative: the SETTINGS_INITIAL_WINDOW_SIZE announced to connections accepted later.
   */
  volatile int initialWindowSize = -1;

  /** When set: each stream whose HEADERS leave a body to come is reset with this code at once. */
  volatile @org.jspecify.annotations.Nullable Http2Error resetBeforeBody;

  H2TestServer(int maxConcurrentStreams, Script script) throws InterruptedException {
    this.script = script;
    H2TestServer self = this;
    serverChannel =
        new ServerBootstrap()
            .group(group)
            .channel(NioServerSocketChannel.class)
            .childHandler(
                new ChannelInitializer<SocketChannel>() {
                  @Override
                  protected void initChannel(SocketChannel ch) {
                    channels.add(ch);
                    connections.incrementAndGet();
                    ConnState state = new ConnState();
                    Listener listener = new Listener(self, state);
                    Http2Settings settings = new Http2Settings();
                    if (maxConcurrentStreams > 0) {
                      settings.maxConcurrentStreams(maxConcurrentStreams);
                    }
                    if (maxHeaderListSize > 0) {
                      settings.maxHeaderListSize(maxHeaderListSize);
                    }
                    if (initialWindowSize >= 0) {
                      settings.initialWindowSize(initialWindowSize);
                    }
                    states.add(state);
                    Http2ConnectionHandler h = new ServerHandlerBuilder(listener, settings).build();
                    state.handler = h;
                    state.encoder = h.encoder();
                    ch.pipeline().addLast(h);
                  }
                })
            .bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))
            .sync()
            .channel();
  }

  int port() {
    return ((InetSocketAddress) serverChannel.localAddress()).getPort();
  }

  /**
   * GOAWAY(NO_ERROR) on every connection, naming the last stream it received: what a server's idle
   * timeout sends (nginx's keepalive_timeout over HTTP/2).
   */
  void goAwayEveryConnection() {
    for (ConnState st : states) {
      st.ctx
          .executor()
          .execute(
              () -> {
                int last = st.handler.connection().remote().lastStreamCreated();
                st.handler.goAway(
                    st.ctx,
                    last,
                    Http2Error.NO_ERROR.code(),
                    Unpooled.EMPTY_BUFFER,
                    st.ctx.newPromise());
                st.flush();
              });
    }
  }

  /** Closes every accepted connection now. */
  void closeConnections() {
    for (Channel c : channels) {
      c.close();
    }
  }

  @Override
  public void close() {
    serverChannel.close();
    closeConnections();
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
  }

  private static final class ServerHandlerBuilder
      extends io.netty.handler.codec.http2.AbstractHttp2ConnectionHandlerBuilder<
          Http2ConnectionHandler, ServerHandlerBuilder> {
    private final Listener listener;

    ServerHandlerBuilder(Listener listener, Http2Settings settings) {
      this.listener = listener;
      server(true);
      initialSettings(settings);
      frameListener(listener);
      autoAckPingFrame(false);
      gracefulShutdownTimeoutMillis(0);
    }

    @Override
    protected Http2ConnectionHandler build() {
      return super.build();
    }

    @Override
    protected Http2ConnectionHandler build(
        Http2ConnectionDecoder decoder, Http2ConnectionEncoder encoder, Http2Settings settings) {
      Http2ConnectionHandler h =
          new Http2ConnectionHandler(decoder, encoder, settings) {
            @Override
            public void handlerAdded(ChannelHandlerContext ctx) throws Exception {
              super.handlerAdded(ctx);
              listener.state.ctx = ctx;
            }

            @Override
            protected void onConnectionError(
                ChannelHandlerContext ctx,
                boolean outbound,
                Throwable cause,
                io.netty.handler.codec.http2.Http2Exception http2Ex) {
              listener.server.connectionErrors.add(String.valueOf(cause));
              super.onConnectionError(ctx, outbound, cause, http2Ex);
            }
          };
      return h;
    }
  }

  private static final class Listener extends Http2FrameAdapter {
    final H2TestServer server;
    final ConnState state;
    private final java.util.Map<Integer, StringBuilder> bodies = new java.util.HashMap<>();
    private final java.util.Map<Integer, Http2Headers> heads = new java.util.HashMap<>();

    Listener(H2TestServer server, ConnState state) {
      this.server = server;
      this.state = state;
    }

    @Override
    public void onHeadersRead(
        ChannelHandlerContext ctx, int streamId, Http2Headers headers, int padding, boolean end) {
      server.frames.add("HEADERS " + streamId);
      int now = server.activeStreams.incrementAndGet();
      server.peakStreams.accumulateAndGet(now, Math::max);
      heads.put(streamId, headers);
      bodies.put(streamId, new StringBuilder());
      if (++state.opened == server.goAwayOnHeadersOf) {
        state.handler.goAway(
            ctx, streamId, Http2Error.NO_ERROR.code(), Unpooled.EMPTY_BUFFER, ctx.newPromise());
        state.flush();
      }
      Http2Error reset = server.resetBeforeBody;
      if (reset != null && !end) {
        heads.remove(streamId);
        state.handler.resetStream(ctx, streamId, reset.code(), ctx.newPromise());
        state.flush();
        return;
      }
      if (end) {
        dispatch(streamId);
      }
    }

    @Override
    public void onHeadersRead(
        ChannelHandlerContext ctx,
        int streamId,
        Http2Headers headers,
        int streamDependency,
        short weight,
        boolean exclusive,
        int padding,
        boolean end) {
      onHeadersRead(ctx, streamId, headers, padding, end);
    }

    @Override
    public int onDataRead(
        ChannelHandlerContext ctx, int streamId, ByteBuf data, int padding, boolean end) {
      int n = data.readableBytes() + padding;
      server.frames.add("DATA " + streamId);
      StringBuilder sb = bodies.get(streamId);
      if (sb != null) {
        sb.append(data.toString(StandardCharsets.UTF_8));
      }
      if (end) {
        dispatch(streamId);
      }
      return n;
    }

    @Override
    public void onRstStreamRead(ChannelHandlerContext ctx, int streamId, long errorCode) {
      server.resetsReceived.incrementAndGet();
      heads.remove(streamId);
    }

    @Override
    public void onPingRead(ChannelHandlerContext ctx, long data) {
      server.pings.incrementAndGet();
      if (server.answerPings) {
        state.encoder.writePing(ctx, true, data, ctx.newPromise());
        state.flush();
      }
    }

    private void dispatch(int streamId) {
      Http2Headers h = heads.remove(streamId);
      StringBuilder sb = bodies.remove(streamId);
      if (h == null) {
        return;
      }
      server.requests.incrementAndGet();
      server.paths.add(String.valueOf(h.path()));
      int index = state.requests.incrementAndGet();
      server.script.onRequest(
          new Stream(server, state, streamId, h, sb == null ? "" : sb.toString(), index));
    }
  }
}
