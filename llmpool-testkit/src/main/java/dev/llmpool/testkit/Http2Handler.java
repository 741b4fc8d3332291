package dev.llmpool.testkit;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2ConnectionHandler;
import io.netty.handler.codec.http2.Http2ConnectionHandlerBuilder;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2EventAdapter;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.codec.http2.Http2Stream;
import io.netty.util.collection.IntObjectHashMap;
import io.netty.util.collection.IntObjectMap;
import io.netty.util.concurrent.EventExecutor;
import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * The HTTP/2 side of the mock server (h2 over TLS and h2c with prior knowledge), on Netty's {@link
 * Http2ConnectionHandler} so that the server controls every frame: the GOAWAY's last-stream-id,
 * RST_STREAM codes, and a close that skips the GOAWAY.
 *
 * <p>Threading: confined to the channel's event loop.
 */
final class Http2Handler extends Http2EventAdapter {
  private final ServerCore core;
  private final Conn conn;
  private @Nullable Http2ConnectionHandler handler;
  private @Nullable ChannelHandlerContext ctx;

  // Confined to the event loop.
  private final IntObjectMap<StreamIn> streams = new IntObjectHashMap<>();
  private int streamsSeen;

  /** The last-stream-id of the GOAWAY this server sent, or -1. */
  private int goAwayLastStreamId = -1;

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
    Http2ConnectionHandler handler =
        new Http2ConnectionHandlerBuilder()
            .server(true)
            .initialSettings(settings)
            .frameListener(listener)
            .gracefulShutdownTimeoutMillis(5_000)
            .build();
    listener.handler = handler;
    handler.connection().addListener(listener);
    pipeline.addLast("http2", handler);
    ChannelHandlerContext ctx = pipeline.context(handler);
    listener.ctx = ctx;
    // Closing from this context skips the handler's own close(), which would send a GOAWAY.
    conn.protocol(protocol, () -> closeAfterFlush(ctx));
  }

  private static void closeAfterFlush(ChannelHandlerContext ctx) {
    ctx.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(f -> ctx.close());
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
      return; // above our GOAWAY: not processed, as promised (Netty drops these too)
    }
    StreamIn s = new StreamIn(streamId, headers);
    streams.put(streamId, s);
    streamsSeen++;
    int max = core.config.maxRequestsPerConnection();
    if (max > 0 && streamsSeen == max) {
      // Streams above this one are provably unprocessed; this one and those below complete.
      goAwayLastStreamId = streamId;
      handler()
          .goAway(
              ctx, streamId, Http2Error.NO_ERROR.code(), Unpooled.EMPTY_BUFFER, ctx.newPromise());
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
  public void onStreamActive(Http2Stream stream) {
    if (!handler().connection().local().isValidStreamId(stream.id())) {
      conn.streamOpened();
    }
  }

  @Override
  public void onStreamClosed(Http2Stream stream) {
    streams.remove(stream.id());
    if (!handler().connection().local().isValidStreamId(stream.id())) {
      conn.streamClosed();
    }
    if (goAwayLastStreamId >= 0 && handler().connection().numActiveStreams() == 0) {
      closeAfterFlush(ctx()); // the GOAWAY's streams are done: close
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
      handler().encoder().writeHeaders(ctx(), in.id, h, 0, false, ctx().newPromise());
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
        data(new byte[0], true);
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
        handler().resetStream(ctx(), in.id, error.code(), ctx().newPromise());
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
      c.writeAndFlush(Unpooled.wrappedBuffer(Exchange.GARBAGE)).addListener(f -> c.close());
    }
  }
}
