package dev.llmpool.testkit;

import dev.llmpool.testkit.internal.Futures;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.socket.DuplexChannel;
import io.netty.handler.codec.http2.DefaultHttp2Connection;
import io.netty.handler.codec.http2.DefaultHttp2ConnectionDecoder;
import io.netty.handler.codec.http2.DefaultHttp2ConnectionEncoder;
import io.netty.handler.codec.http2.DefaultHttp2FrameReader;
import io.netty.handler.codec.http2.DefaultHttp2FrameWriter;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersDecoder;
import io.netty.handler.codec.http2.Http2Connection;
import io.netty.handler.codec.http2.Http2ConnectionDecoder;
import io.netty.handler.codec.http2.Http2ConnectionEncoder;
import io.netty.handler.codec.http2.Http2ConnectionHandler;
import io.netty.handler.codec.http2.Http2ConnectionHandlerBuilder;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2EventAdapter;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2FrameListener;
import io.netty.handler.codec.http2.Http2FrameListenerDecorator;
import io.netty.handler.codec.http2.Http2FrameReader;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.codec.http2.Http2Stream;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.collection.IntObjectHashMap;
import io.netty.util.collection.IntObjectMap;
import io.netty.util.concurrent.EventExecutor;
import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;

/**
 * The HTTP/2 side of the mock server (h2 over TLS and h2c with prior knowledge), on Netty's {@link
 * Http2ConnectionHandler} so that the server controls every frame: the GOAWAY's last-stream-id,
 * RST_STREAM codes, and a close that skips the GOAWAY.
 *
 * <p>Threading: confined to the channel's event loop.
 */
final class Http2Handler extends Http2EventAdapter {
  /**
   * How long a connection whose GOAWAY streams are done keeps reading (and dropping) what the
   * client still had in flight, after its FIN, before it closes anyway.
   */
  static final long LINGER_MILLIS = 2_000;

  private final ServerCore core;
  private final Conn conn;
  private @Nullable Http2ConnectionHandler handler;
  private @Nullable DefaultHttp2FrameReader reader;
  private @Nullable ChannelHandlerContext ctx;

  // Confined to the event loop.
  private final IntObjectMap<StreamIn> streams = new IntObjectHashMap<>();

  /** Client streams this server accepted and has not seen close: the concurrency it counts. */
  private final IntObjectMap<Boolean> open = new IntObjectHashMap<>();

  private int streamsSeen;

  /** The last-stream-id of the GOAWAY this server sent, or -1. */
  private int goAwayLastStreamId = -1;

  /** The GOAWAY's streams are done and the connection is closing (see lingeringClose). */
  private boolean lingering;

  /** A request being read on one stream. */
  private static final class StreamIn {
    final int id;
    final String method;
    final String path;
    final Map<String, List<String>> headers;
    final ByteArrayOutputStream body = new ByteArrayOutputStream();

    /** The server answered before the body ended: the rest is read and dropped. */
    boolean discarding;

    boolean remoteEnded;

    StreamIn(int id, Http2Headers h) {
      this.id = id;
      this.method = h.method() == null ? "" : h.method().toString();
      this.path = h.path() == null ? "" : h.path().toString();
      this.headers = new LinkedHashMap<>();
      for (Map.Entry<CharSequence, CharSequence> e : h) {
        String name = e.getKey().toString().toLowerCase(Locale.ROOT);
        if (!name.startsWith(":")) {
          headers.computeIfAbsent(name, k -> new ArrayList<>(1)).add(e.getValue().toString());
        }
      }
    }
  }

  private Http2Handler(ServerCore core, Conn conn) {
    this.core = core;
    this.conn = conn;
  }

  /** Adds the HTTP/2 handler to a connection whose protocol is now known. */
  static void install(ServerCore core, Conn conn, ChannelPipeline pipeline, Protocol protocol) {
    Http2Handler listener = new Http2Handler(core, conn);
    Http2Settings settings =
        new Http2Settings()
            .maxConcurrentStreams(core.config.maxConcurrentStreams())
            .maxHeaderListSize(core.config.maxHeaderBytes());
    // The codec is assembled by hand to keep the frame reader, whose header limits are relaxed
    // below (see relaxNettyLimits).
    Http2Connection connection = new DefaultHttp2Connection(true);
    DefaultHttp2FrameReader reader =
        new DefaultHttp2FrameReader(
            new DefaultHttp2HeadersDecoder(true, core.config.maxHeaderBytes()));
    Http2ConnectionEncoder encoder =
        new DefaultHttp2ConnectionEncoder(connection, new DefaultHttp2FrameWriter());
    Http2ConnectionDecoder decoder =
        new DefaultHttp2ConnectionDecoder(
            connection, encoder, listener.new IgnoringFrameReader(reader));
    Http2ConnectionHandler handler =
        new Http2ConnectionHandlerBuilder()
            .codec(decoder, encoder)
            .initialSettings(settings)
            .frameListener(listener)
            .gracefulShutdownTimeoutMillis(5_000)
            .build();
    listener.handler = handler;
    listener.reader = reader;
    listener.relaxNettyLimits();
    connection.addListener(listener);
    pipeline.addLast("http2", handler);
    ChannelHandlerContext ctx = pipeline.context(handler);
    listener.ctx = ctx;
    // Closing from this context skips the handler's own close(), which would send a GOAWAY.
    conn.protocol(protocol, () -> closeAfterFlush(ctx));
  }

  /**
   * Netty enforces two limits in ways that would end the whole connection where a real server ends
   * one stream: a stream over SETTINGS_MAX_CONCURRENT_STREAMS is refused without being created, so
   * its DATA frames then count as a protocol error; and a header block more than 25% over
   * SETTINGS_MAX_HEADER_LIST_SIZE is a connection error. So the advertised values stay as
   * configured, Netty's own checks are loosened, and this handler refuses streams itself (a
   * created, then reset, stream) and leaves moderate header excess to Netty's 431 answer. Applied
   * at start and again each time Netty applies our settings (on their acknowledgement).
   */
  private void relaxNettyLimits() {
    handler().connection().remote().maxActiveStreams(Integer.MAX_VALUE);
    DefaultHttp2FrameReader r = reader;
    if (r != null) {
      long max = core.config.maxHeaderBytes();
      try {
        r.configuration()
            .headersConfiguration()
            .maxHeaderListSize(max, Math.max(max * 16, 256 * 1024));
      } catch (Http2Exception e) {
        throw new IllegalStateException(e);
      }
    }
  }

  @Override
  public void onSettingsAckRead(ChannelHandlerContext ctx) {
    relaxNettyLimits();
  }

  /**
   * Closes the way real servers do once the streams of their GOAWAY are done (nginx's lingering
   * close): flush the last responses, send TLS close_notify and a FIN, then keep reading and
   * dropping whatever the client still had in flight until it closes too, or for {@link
   * #LINGER_MILLIS}. Closing at once with unread bytes in the socket would make the kernel answer
   * them with a TCP RST, which can destroy responses the client has not read yet.
   */
  private void lingeringClose(ChannelHandlerContext ctx) {
    if (lingering) {
      return;
    }
    lingering = true;
    Channel ch = ctx.channel();
    ctx.writeAndFlush(Unpooled.EMPTY_BUFFER)
        .addListener(
            f -> {
              SslHandler tls = ch.pipeline().get(SslHandler.class);
              if (!f.isSuccess() || !ch.isActive()) {
                Futures.ignore(ch.close());
              } else if (tls != null) {
                tls.closeOutbound().addListener(g -> halfClose(ch));
              } else {
                halfClose(ch);
              }
            });
  }

  /** The FIN of a lingering close: from now on inbound bytes are dropped below TLS and HTTP/2. */
  private static void halfClose(Channel ch) {
    if (!ch.isActive()) {
      return;
    }
    ChannelPipeline p = ch.pipeline();
    if (p.get("linger") == null) {
      p.addAfter("bytes", "linger", new DropInbound());
    }
    Futures.ignore(
        ch.eventLoop()
            .schedule(() -> Futures.ignore(ch.close()), LINGER_MILLIS, TimeUnit.MILLISECONDS));
    if (ch instanceof DuplexChannel d) {
      Futures.ignore(d.shutdownOutput());
    } else {
      Futures.ignore(ch.close());
    }
  }

  /** Reads and drops everything: a closing connection's leftovers. */
  private static final class DropInbound extends ChannelInboundHandlerAdapter {
    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      ReferenceCountUtil.release(msg);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      Futures.ignore(ctx.close());
    }
  }

  private static void closeAfterFlush(ChannelHandlerContext ctx) {
    ctx.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(f -> Futures.ignore(ctx.close()));
  }

  private Http2ConnectionHandler handler() {
    Http2ConnectionHandler h = handler;
    if (h == null) {
      throw new IllegalStateException("not installed");
    }
    return h;
  }

  private ChannelHandlerContext ctx() {
    ChannelHandlerContext c = ctx;
    if (c == null) {
      throw new IllegalStateException("not installed");
    }
    return c;
  }

  // ---------------------------------------------------------------- frames a server ignores

  /**
   * Netty's frame reader, with the frames a real server ignores taken out before Netty's decoder
   * judges them. After this server ends a stream (refused, reset, answered) or sends GOAWAY, the
   * client may still have frames for it in flight: RFC 9113 §5.4.2 and §6.8 say to ignore them, and
   * the connection window must still count their DATA. Netty would instead answer DATA on a
   * forgotten stream with RST_STREAM, and DATA or WINDOW_UPDATE on a stream above the GOAWAY that
   * it never saw opened with a connection error ("Stream N does not exist for inbound frame DATA"),
   * killing the streams at or below the last-stream-id that the GOAWAY promised to finish, whose
   * responses the server has processed. nginx and h2o drop such frames and finish those streams; so
   * does this server.
   */
  final class IgnoringFrameReader implements Http2FrameReader {
    private final Http2FrameReader delegate;
    private @Nullable Http2FrameListener wrappedFor;
    private @Nullable Http2FrameListener wrapped;

    IgnoringFrameReader(Http2FrameReader delegate) {
      this.delegate = delegate;
    }

    @Override
    public void readFrame(ChannelHandlerContext ctx, ByteBuf input, Http2FrameListener listener)
        throws Http2Exception {
      Http2FrameListener w = wrapped;
      if (w == null || wrappedFor != listener) {
        // The decoder swaps its listener once, after the preface: wrap each one once.
        w = new IgnoringListener(listener);
        wrapped = w;
        wrappedFor = listener;
      }
      delegate.readFrame(ctx, input, w);
    }

    @Override
    public Configuration configuration() {
      return delegate.configuration();
    }

    @Override
    public void close() {
      delegate.close();
    }
  }

  /** Drops frames for streams this server has ended or will never process; see above. */
  private final class IgnoringListener extends Http2FrameListenerDecorator {
    IgnoringListener(Http2FrameListener listener) {
      super(listener);
    }

    @Override
    public int onDataRead(
        ChannelHandlerContext ctx, int streamId, ByteBuf data, int padding, boolean endOfStream)
        throws Http2Exception {
      if (!ignorable(streamId)) {
        return super.onDataRead(ctx, streamId, data, padding, endOfStream);
      }
      // Counted against the connection window and returned at once (no stream to charge).
      handler()
          .connection()
          .local()
          .flowController()
          .receiveFlowControlledFrame(null, data, padding, endOfStream);
      return data.readableBytes() + padding;
    }

    @Override
    public void onWindowUpdateRead(ChannelHandlerContext ctx, int streamId, int increment)
        throws Http2Exception {
      if (!ignorable(streamId)) {
        super.onWindowUpdateRead(ctx, streamId, increment);
      }
    }

    @Override
    public void onRstStreamRead(ChannelHandlerContext ctx, int streamId, long errorCode)
        throws Http2Exception {
      if (!ignorable(streamId)) {
        super.onRstStreamRead(ctx, streamId, errorCode);
      }
    }
  }

  /**
   * Whether frames on {@code streamId} are to be dropped: a client stream this server has ended and
   * forgotten (the client sent these frames before it learnt), or one above the last-stream-id of
   * this server's GOAWAY. A stream that is still open, and a stream that never existed below the
   * GOAWAY (a broken client), are left to Netty.
   */
  private boolean ignorable(int streamId) {
    if (streamId == 0) {
      return false;
    }
    Http2Connection c = handler().connection();
    if (!c.remote().isValidStreamId(streamId) || c.stream(streamId) != null) {
      return false;
    }
    return c.streamMayHaveExisted(streamId)
        || (goAwayLastStreamId >= 0 && streamId > goAwayLastStreamId);
  }

  // ---------------------------------------------------------------- frames in

  @Override
  public void onHeadersRead(
      ChannelHandlerContext ctx,
      int streamId,
      Http2Headers headers,
      int streamDependency,
      short weight,
      boolean exclusive,
      int padding,
      boolean endStream) {
    onHeadersRead(ctx, streamId, headers, padding, endStream);
  }

  @Override
  public void onHeadersRead(
      ChannelHandlerContext ctx, int streamId, Http2Headers headers, int padding, boolean end) {
    StreamIn known = streams.get(streamId);
    if (known != null) { // trailers
      if (end && !known.discarding) {
        complete(known);
      }
      known.remoteEnded |= end;
      return;
    }
    if (goAwayLastStreamId >= 0 && streamId > goAwayLastStreamId) {
      // Above our GOAWAY: not processed, as promised. Reset rather than ignored, so the stream
      // does not stay open in Netty's books.
      Futures.closeOnFailure(
          handler().resetStream(ctx, streamId, Http2Error.REFUSED_STREAM.code(), ctx.newPromise()));
      handler().flush(ctx);
      return;
    }
    if (open.size() >= core.config.maxConcurrentStreams()) {
      // Over SETTINGS_MAX_CONCURRENT_STREAMS: refused, so provably not processed.
      Futures.closeOnFailure(
          handler().resetStream(ctx, streamId, Http2Error.REFUSED_STREAM.code(), ctx.newPromise()));
      handler().flush(ctx);
      return;
    }
    open.put(streamId, Boolean.TRUE);
    conn.streamOpened();
    StreamIn s = new StreamIn(streamId, headers);
    streams.put(streamId, s);
    streamsSeen++;
    int max = core.config.maxRequestsPerConnection();
    if (max > 0 && streamsSeen == max) {
      // Streams above this one are provably unprocessed; this one and those below complete.
      goAwayLastStreamId = streamId;
      // Written straight to the frame writer: Netty's goAway() would also make its decoder refuse
      // later streams without creating them, and then treat their DATA frames as a connection
      // error (PROTOCOL_ERROR), killing the very streams this GOAWAY promises to complete.
      ChannelFuture goAway =
          handler()
              .encoder()
              .frameWriter()
              .writeGoAway(
                  ctx,
                  streamId,
                  Http2Error.NO_ERROR.code(),
                  Unpooled.EMPTY_BUFFER,
                  ctx.newPromise());
      Futures.closeOnFailure(goAway);
      handler().flush(ctx);
    }
    long length = contentLength(headers);
    if (length > core.config.maxRequestBodyBytes()) {
      s.discarding = true;
      s.remoteEnded = end;
      respond(s, core.tooLarge(conn, streamId, s.method, s.path, s.headers, length));
      return;
    }
    if (end) {
      complete(s);
      return;
    }
    ServerCore.Handled early = core.early(conn, streamId, s.method, s.path, s.headers);
    if (early != null) {
      s.discarding = true;
      respond(s, early);
    }
  }

  @Override
  public int onDataRead(
      ChannelHandlerContext ctx, int streamId, ByteBuf data, int padding, boolean end) {
    int processed = data.readableBytes() + padding; // flow-control credit goes back at once
    StreamIn s = streams.get(streamId);
    if (s == null) {
      return processed;
    }
    if (!s.discarding) {
      if (s.body.size() + (long) data.readableBytes() > core.config.maxRequestBodyBytes()) {
        s.discarding = true;
        s.remoteEnded = end;
        respond(s, core.tooLarge(conn, streamId, s.method, s.path, s.headers, -1));
        return processed;
      }
      s.body.writeBytes(ByteBufUtil.getBytes(data));
    }
    if (end) {
      s.remoteEnded = true;
      if (!s.discarding) {
        complete(s);
      }
    }
    return processed;
  }

  @Override
  public void onRstStreamRead(ChannelHandlerContext ctx, int streamId, long errorCode) {
    streams.remove(streamId);
  }

  private static long contentLength(Http2Headers headers) {
    CharSequence cl = headers.get("content-length");
    if (cl == null) {
      return -1;
    }
    try {
      return Long.parseLong(cl.toString().trim());
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  private void complete(StreamIn s) {
    s.remoteEnded = true;
    respond(s, core.handle(conn, s.id, s.method, s.path, s.headers, s.body.toByteArray()));
  }

  private void respond(StreamIn s, ServerCore.Handled h) {
    Exchange.start(h.plan(), new Sink(s));
  }

  // ---------------------------------------------------------------- stream life

  @Override
  public void onStreamClosed(Http2Stream stream) {
    streams.remove(stream.id());
    if (open.remove(stream.id()) != null) {
      conn.streamClosed();
    }
    if (goAwayLastStreamId >= 0 && handler().connection().numActiveStreams() == 0) {
      lingeringClose(ctx()); // the GOAWAY's streams are done: close
    }
  }

  // ---------------------------------------------------------------- responses

  /** One response on one stream. */
  private final class Sink implements ResponseSink {
    private final StreamIn in;

    Sink(StreamIn in) {
      this.in = in;
    }

    @Override
    public EventExecutor executor() {
      return ctx().executor();
    }

    @Override
    public boolean active() {
      if (!ctx().channel().isActive()) {
        return false;
      }
      Http2Stream s = handler().connection().stream(in.id);
      return s != null
          && (s.state() == Http2Stream.State.OPEN
              || s.state() == Http2Stream.State.HALF_CLOSED_REMOTE);
    }

    @Override
    public void headers(Plan plan) {
      Http2Headers h = new DefaultHttp2Headers().status(Integer.toString(plan.status()));
      for (Map.Entry<String, String> e : plan.headers()) {
        h.add(e.getKey(), e.getValue());
      }
      if (!plan.streaming()) {
        h.set("content-length", Long.toString(plan.contentLength()));
      }
      Futures.closeOnFailure(
          handler().encoder().writeHeaders(ctx(), in.id, h, 0, false, ctx().newPromise()));
    }

    @Override
    public ChannelFuture data(byte[] bytes, boolean last) {
      return handler()
          .encoder()
          .writeData(ctx(), in.id, Unpooled.wrappedBuffer(bytes), 0, last, ctx().newPromise());
    }

    @Override
    public void flush() {
      // Through the handler: it writes what its flow controller holds.
      handler().flush(ctx());
    }

    @Override
    public void finish(Fault fault) {
      if (fault == Fault.CLOSE_AFTER_RESPONSE) {
        closeConnection();
      } else if (in.discarding && !in.remoteEnded) {
        // A complete response before the body ended: ask the client to stop sending it.
        reset(Http2Error.NO_ERROR);
      }
    }

    @Override
    public void truncate() {
      if (active()) {
        Futures.closeOnFailure(data(new byte[0], true));
        flush();
      }
    }

    @Override
    public void resetStream() {
      reset(Http2Error.INTERNAL_ERROR);
    }

    @Override
    public void refuseStream() {
      reset(Http2Error.REFUSED_STREAM);
    }

    private void reset(Http2Error error) {
      if (handler().connection().stream(in.id) != null) {
        Futures.closeOnFailure(
            handler().resetStream(ctx(), in.id, error.code(), ctx().newPromise()));
        flush();
      }
    }

    @Override
    public void closeConnection() {
      closeAfterFlush(ctx());
    }

    @Override
    public void resetConnection() {
      conn.reset();
    }

    @Override
    public void garbage() {
      // From the HTTP/2 handler's context: below the framing, above TLS.
      ChannelHandlerContext c = ctx();
      c.writeAndFlush(Unpooled.wrappedBuffer(Exchange.GARBAGE))
          .addListener(f -> Futures.ignore(c.close()));
    }
  }
}
