package dev.llmpool.testkit;

import dev.llmpool.testkit.internal.Futures;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.DuplexChannel;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.EventExecutor;
import java.io.ByteArrayOutputStream;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;

/**
 * The HTTP/1.1 side of the mock server: reads requests (pipelined ones wait their turn), hands each
 * to the {@link ServerCore}, and writes the {@link Plan} through an {@link Exchange}.
 *
 * <p>Threading: confined to the channel's event loop.
 */
final class Http1Handler extends ChannelInboundHandlerAdapter {
  /** How long a closing connection keeps reading (and dropping) a body before it closes anyway. */
  private static final long LINGER_MILLIS = 1_000;

  private final ServerCore core;
  private final Conn conn;
  private @Nullable ChannelHandlerContext ctx;

  // Confined to the event loop.
  private @Nullable Incoming receiving;
  private final ArrayDeque<Incoming> ready = new ArrayDeque<>();
  private boolean busy;

  /** The connection is closing: every further byte is read and dropped. */
  private boolean discarding;

  /** A request being read. */
  private static final class Incoming {
    final String method;
    final String path;
    final Map<String, List<String>> headers;
    final boolean keepAlive;
    final ByteArrayOutputStream body = new ByteArrayOutputStream();

    Incoming(HttpRequest req) {
      this.method = req.method().name();
      this.path = req.uri();
      this.headers = new LinkedHashMap<>();
      for (Map.Entry<String, String> h : req.headers()) {
        headers
            .computeIfAbsent(h.getKey().toLowerCase(Locale.ROOT), k -> new ArrayList<>(1))
            .add(h.getValue());
      }
      this.keepAlive = HttpUtil.isKeepAlive(req);
    }
  }

  Http1Handler(ServerCore core, Conn conn) {
    this.core = core;
    this.conn = conn;
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    this.ctx = ctx;
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    try {
      if (discarding) {
        return;
      }
      if (msg instanceof HttpRequest req) {
        onHead(ctx, req);
      }
      if (msg instanceof HttpContent content && !discarding) {
        onContent(content);
      }
    } finally {
      ReferenceCountUtil.release(msg);
    }
  }

  private void onHead(ChannelHandlerContext ctx, HttpRequest req) {
    if (req.decoderResult().isFailure()) {
      malformed(req.decoderResult().cause());
      return;
    }
    if (req.protocolVersion().majorVersion() != 1) {
      reject(505, "HTTP version not supported: " + req.protocolVersion().text() + ".");
      return;
    }
    Incoming in = new Incoming(req);
    conn.streamOpened();
    long length = HttpUtil.getContentLength(req, -1L);
    if (length > core.config.maxRequestBodyBytes()) {
      tooLarge(in, length);
      return;
    }
    if (HttpUtil.is100ContinueExpected(req)) {
      Futures.closeOnFailure(
          ctx.writeAndFlush(
              new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.CONTINUE)));
    }
    receiving = in;
    boolean bodyComing = length > 0 || HttpUtil.isTransferEncodingChunked(req);
    if (bodyComing && !busy && ready.isEmpty()) {
      ServerCore.Handled early = core.early(conn, 0, in.method, in.path, in.headers);
      if (early != null) {
        receiving = null;
        discarding = true; // the rest of the body is dropped; the connection closes after
        start(early, false);
      }
    }
  }

  private void onContent(HttpContent content) {
    Incoming in = receiving;
    if (in == null) {
      return;
    }
    int n = content.content().readableBytes();
    if (in.body.size() + (long) n > core.config.maxRequestBodyBytes()) {
      receiving = null;
      tooLarge(in, -1);
      return;
    }
    in.body.writeBytes(ByteBufUtil.getBytes(content.content()));
    if (content instanceof LastHttpContent) {
      receiving = null;
      ready.addLast(in);
      startNext();
    }
  }

  private void startNext() {
    if (busy || discarding) {
      return;
    }
    Incoming in = ready.pollFirst();
    if (in == null) {
      return;
    }
    ServerCore.Handled h =
        core.handle(conn, 0, in.method, in.path, in.headers, in.body.toByteArray());
    int max = core.config.maxRequestsPerConnection();
    boolean last = max > 0 && h.request().sequenceOnConnection() >= max;
    start(h, in.keepAlive && !last);
  }

  private void start(ServerCore.Handled h, boolean keepAlive) {
    busy = true;
    Exchange.start(h.plan(), new Sink(keepAlive && !discarding));
  }

  private void tooLarge(Incoming in, long length) {
    discarding = true;
    start(core.tooLarge(conn, 0, in.method, in.path, in.headers, length), false);
  }

  /** A request the decoder could not read: 431, 414 or 400, then the connection closes. */
  private void malformed(Throwable cause) {
    int status;
    String message;
    if (cause instanceof TooLongHttpHeaderException) {
      status = 431;
      message =
          "Request header fields too large (the limit is "
              + core.config.maxHeaderBytes()
              + " bytes).";
    } else if (cause instanceof TooLongHttpLineException) {
      status = 414;
      message = "Request line too long.";
    } else {
      status = 400;
      message =
          cause instanceof TooLongFrameException ? "Request too large." : "Malformed HTTP request.";
    }
    reject(status, message);
  }

  /** A request not worth recording: an error in OpenAI's shape, then the connection closes. */
  private void reject(int status, String message) {
    discarding = true;
    busy = true;
    LlmApi.ApiError e = new LlmApi.ApiError(status, "invalid_request_error", null, null, message);
    Exchange.start(
        core.api.errorPlan(LlmApi.Flavor.OPENAI, e, core.api.newRequestId(), null),
        new Sink(false));
  }

  /**
   * Ends the response side (TLS close_notify, then TCP FIN) but keeps reading and dropping input
   * for a while: closing with unread input would reset the connection, and a reset can destroy the
   * response before the client reads it. Closes when the client does, or after a second.
   */
  private void lingerThenClose(ChannelHandlerContext ctx) {
    discarding = true;
    Channel ch = ctx.channel();
    SslHandler ssl = ch.pipeline().get(SslHandler.class);
    ChannelFuture notified = ssl != null ? ssl.closeOutbound() : ch.newSucceededFuture();
    notified.addListener(
        f -> {
          if (ch instanceof DuplexChannel duplex && ch.isActive()) {
            Futures.ignore(duplex.shutdownOutput());
          }
        });
    Futures.ignore(
        ctx.executor()
            .schedule(() -> Futures.ignore(ctx.close()), LINGER_MILLIS, TimeUnit.MILLISECONDS));
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    Futures.ignore(ctx.close());
  }

  private ChannelHandlerContext ctx() {
    ChannelHandlerContext c = ctx;
    if (c == null) {
      throw new IllegalStateException("handler not added");
    }
    return c;
  }

  /** One HTTP/1.1 response. */
  private final class Sink implements ResponseSink {
    private final boolean keepAlive;

    Sink(boolean keepAlive) {
      this.keepAlive = keepAlive;
    }

    @Override
    public EventExecutor executor() {
      return ctx().executor();
    }

    @Override
    public boolean active() {
      return ctx().channel().isActive();
    }

    @Override
    public void headers(Plan plan) {
      HttpResponse resp =
          new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.valueOf(plan.status()));
      for (Map.Entry<String, String> h : plan.headers()) {
        resp.headers().add(h.getKey(), h.getValue());
      }
      if (plan.streaming()) {
        HttpUtil.setTransferEncodingChunked(resp, true);
      } else {
        HttpUtil.setContentLength(resp, plan.contentLength());
      }
      if (!keepAlive) {
        resp.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
      }
      Futures.closeOnFailure(ctx().write(resp));
    }

    @Override
    public ChannelFuture data(byte[] bytes, boolean last) {
      return ctx()
          .write(
              last
                  ? new DefaultLastHttpContent(Unpooled.wrappedBuffer(bytes))
                  : new DefaultHttpContent(Unpooled.wrappedBuffer(bytes)));
    }

    @Override
    public void flush() {
      ctx().flush();
    }

    @Override
    public void finish(Fault fault) {
      ChannelHandlerContext c = ctx();
      if (fault == Fault.CLOSE_AFTER_RESPONSE) {
        closeConnection();
      } else if (fault == Fault.RESPOND_BEFORE_BODY || (!keepAlive && discarding)) {
        lingerThenClose(c);
      } else if (!keepAlive) {
        Futures.ignore(c.close());
      } else {
        busy = false;
        conn.streamClosed();
        startNext();
      }
    }

    @Override
    public void truncate() {
      closeConnection();
    }

    @Override
    public void resetStream() {
      resetConnection();
    }

    @Override
    public void refuseStream() {
      closeConnection();
    }

    @Override
    public void closeConnection() {
      Futures.ignore(ctx().close());
    }

    @Override
    public void resetConnection() {
      conn.reset();
    }

    @Override
    public void garbage() {
      // Written below the HTTP codec, so it goes out raw (encrypted when the connection is TLS).
      ChannelHandlerContext codec = ctx().pipeline().context("http1");
      codec
          .writeAndFlush(Unpooled.wrappedBuffer(Exchange.GARBAGE))
          .addListener(ChannelFutureListener.CLOSE);
    }
  }
}
