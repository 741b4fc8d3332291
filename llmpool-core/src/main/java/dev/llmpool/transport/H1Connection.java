package dev.llmpool.transport;

import dev.llmpool.ConnectionLostException;
import dev.llmpool.HttpProtocolException;
import dev.llmpool.LlmPoolException;
import dev.llmpool.Origin;
import dev.llmpool.Phase;
import dev.llmpool.pool.ConnectionListener;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An HTTP/1.1 connection: one exchange at a time, kept alive between exchanges, no pipelining.
 *
 * <p>Reuse rules: the connection goes back to the pool only after the request was fully written and
 * the response fully read, and only if the response allowed it (no {@code Connection: close}, a
 * body delimited by length or chunking, no stray bytes after it). A server's {@code Keep-Alive:
 * timeout=N} is reported to the pool, which retires the idle connection before then.
 *
 * <p>Read-ahead is bounded: when more than {@value #HIGH_WATER} bytes of body were handed to the
 * consumer and not yet {@linkplain Exchange#ack acknowledged}, the channel stops reading (TCP then
 * slows the server down) until the consumer catches up below {@value #LOW_WATER}.
 *
 * <p>Threading: see {@link NettyConnection}; all state below is confined to the event loop.
 */
final class H1Connection extends NettyConnection implements H1ResponseParser.Sink {
  private static final Logger log = LoggerFactory.getLogger(H1Connection.class);

  static final int HIGH_WATER = 256 * 1024;
  static final int LOW_WATER = 64 * 1024;

  /** Bodies up to this size are copied behind the head: one buffer, one write. */
  private static final int INLINE_BODY = 16 * 1024;

  private static final byte[] HTTP11_CRLF = " HTTP/1.1\r\n".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] CONTENT_TYPE = "Content-Type: ".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] CONTENT_LENGTH =
      "Content-Length: ".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] COLON_SP = {':', ' '};
  private static final byte[] CRLF = {'\r', '\n'};

  private final DefaultHeaders defaults;
  private final byte[] hostLine;
  private final H1ResponseParser parser;
  private final ChannelFutureListener writeListener = this::onWriteDone;

  // Event-loop confined.
  private @Nullable Exchange current;
  private @Nullable Exchange writing;
  private boolean closeAfterExchange;
  private boolean readPaused;
  private @Nullable Throwable lastError;

  /** The server's stated idle limit, nanos. */
  private volatile long serverIdleTimeoutNanos = Long.MAX_VALUE;

  H1Connection(
      TransportSettings settings,
      DefaultHeaders defaults,
      Channel channel,
      Origin origin,
      ConnectionListener listener,
      long id) {
    super(settings, channel, origin, listener, id);
    this.defaults = defaults;
    this.hostLine = hostLine(origin);
    this.parser = new H1ResponseParser(this, settings.maxResponseHeaderBytes);
    NettyConnection.install(channel, "llmpool-http1", new Handler());
  }

  private static byte[] hostLine(Origin origin) {
    boolean defaultPort = origin.port() == (origin.isTls() ? 443 : 80);
    String authority =
        defaultPort ? origin.hostForUrl() : origin.hostForUrl() + ":" + origin.port();
    return ("Host: " + authority + "\r\n").getBytes(StandardCharsets.US_ASCII);
  }

  @Override
  public boolean isMultiplexed() {
    return false;
  }

  @Override
  public int maxConcurrentExchanges() {
    return isHealthy() ? 1 : 0;
  }

  @Override
  public long serverIdleTimeoutNanos() {
    return serverIdleTimeoutNanos;
  }

  @Override
  @Nullable Throwable closeCause() {
    return lastError;
  }

  @Override
  public String protocol() {
    return "HTTP/1.1";
  }

  // ---- Starting an exchange ----

  @Override
  void startOnLoop(Exchange ex) {
    if (!beginOnLoop(ex)) {
      return;
    }
    if (current != null || !channel.isActive() || closeAfterExchange) {
      endExchange(
          ex,
          notSent(
              current != null
                  ? "the connection was busy (pool error)"
                  : "the connection was closed before the request was sent",
              lastError),
          false);
      return;
    }
    current = ex;
    writing = ex;
    parser.reset("HEAD".equals(ex.method()));
    byte[] body = ex.body();
    ByteBuf head = encodeHead(ex, body);
    ex.headersWritten = true;
    ChannelFuture f;
    if (body != null && body.length > INLINE_BODY) {
      var unused = channel.write(head, channel.voidPromise());
      f = channel.writeAndFlush(Unpooled.wrappedBuffer(body));
    } else {
      f = channel.writeAndFlush(head);
    }
    f.addListener(writeListener);
    if (!ex.ended) {
      armWatchdog(deadlineOf(ex));
    }
  }

  private ByteBuf encodeHead(Exchange ex, byte @Nullable [] body) {
    String method = ex.method();
    String target = ex.target();
    int n = ex.headerCount();
    int estimate = method.length() + target.length() + 64 + hostLine.length;
    estimate += defaults.h1Block().length;
    for (int i = 0; i < n; i++) {
      estimate += ex.headerName(i).length() + ex.headerValue(i).length() + 4;
    }
    boolean inlineBody = body != null && body.length <= INLINE_BODY;
    if (body != null && inlineBody) {
      estimate += body.length;
    }
    ByteBuf buf = channel.alloc().ioBuffer(estimate);
    ByteBufUtil.writeAscii(buf, method);
    buf.writeByte(' ');
    ByteBufUtil.writeAscii(buf, target);
    buf.writeBytes(HTTP11_CRLF);
    buf.writeBytes(hostLine);
    long overridden = defaults.overriddenBy(ex);
    if (overridden == 0) {
      buf.writeBytes(defaults.h1Block());
    } else {
      for (int i = 0; i < defaults.size(); i++) {
        if ((overridden & (1L << i)) == 0) {
          writeHeader(buf, defaults.name(i), defaults.value(i));
        }
      }
    }
    boolean hasContentType = false;
    for (int i = 0; i < n; i++) {
      String name = ex.headerName(i);
      if (name.length() == 12 && name.equalsIgnoreCase("content-type")) {
        hasContentType = true;
      }
      writeHeader(buf, name, ex.headerValue(i));
    }
    if (body != null) {
      String ct = ex.contentType();
      if (ct != null && !hasContentType) {
        buf.writeBytes(CONTENT_TYPE);
        buf.writeCharSequence(ct, StandardCharsets.ISO_8859_1);
        buf.writeBytes(CRLF);
      }
      buf.writeBytes(CONTENT_LENGTH);
      writeDecimal(buf, body.length);
      buf.writeBytes(CRLF);
    } else if (methodExpectsBody(method)) {
      buf.writeBytes(CONTENT_LENGTH);
      buf.writeByte('0');
      buf.writeBytes(CRLF);
    }
    buf.writeBytes(CRLF);
    if (body != null && inlineBody) {
      buf.writeBytes(body);
    }
    return buf;
  }

  private static boolean methodExpectsBody(String method) {
    return method.equals("POST") || method.equals("PUT") || method.equals("PATCH");
  }

  private static void writeHeader(ByteBuf buf, String name, String value) {
    ByteBufUtil.writeAscii(buf, name);
    buf.writeBytes(COLON_SP);
    buf.writeCharSequence(value, StandardCharsets.ISO_8859_1);
    buf.writeBytes(CRLF);
  }

  private static void writeDecimal(ByteBuf buf, int v) {
    if (v < 10) {
      buf.writeByte('0' + v);
    } else {
      ByteBufUtil.writeAscii(buf, Integer.toString(v));
    }
  }

  private void onWriteDone(ChannelFuture f) {
    Exchange ex = writing;
    writing = null;
    if (ex == null || ex.ended || ex != current) {
      return;
    }
    if (f.isSuccess()) {
      ex.requestWritten = true;
      ex.lastProgressNanos = ticker.nanoTime();
      byte[] body = ex.body();
      try {
        ex.onRequestWritten(body == null ? 0 : body.length);
      } catch (RuntimeException e) {
        log.warn("onRequestWritten threw", e);
      }
      if (!ex.ended) {
        armWatchdog(deadlineOf(ex));
      }
    } else {
      lastError = f.cause();
      // The channel is broken; channelInactive classifies the failure.
      closeChannel(channel);
    }
  }

  // ---- Response ----

  @Override
  public void onHead(H1ResponseParser.Head head) {
    Exchange ex = current;
    if (ex == null) {
      return;
    }
    if (head.mustClose()) {
      closeAfterExchange = true;
      if (healthy) {
        notifyNoNewExchanges();
      }
    }
    if (head.keepAliveTimeoutSeconds() >= 0) {
      serverIdleTimeoutNanos = TimeUnit.SECONDS.toNanos(head.keepAliveTimeoutSeconds());
    }
    ex.bodyExpected = head.contentLength();
    ex.headDelivered = true;
    ex.onResponseHead(head.status(), head.headers(), false);
  }

  @Override
  public void onBody(ByteBuf slice) {
    Exchange ex = current;
    if (ex == null || ex.ended) {
      slice.release();
      return;
    }
    int n = slice.readableBytes();
    ex.bodyReceived += n;
    ex.outstanding += n;
    ex.onResponseData(slice);
    if (ex.outstanding > HIGH_WATER && !readPaused && current == ex) {
      readPaused = true;
      channel.config().setAutoRead(false);
    }
  }

  @Override
  void onAck(Exchange ex, long bytes) {
    if (ex != current) {
      return;
    }
    ex.outstanding -= bytes;
    ex.lastProgressNanos = ticker.nanoTime();
    if (readPaused && ex.outstanding <= LOW_WATER) {
      readPaused = false;
      channel.config().setAutoRead(true);
    }
    if (ex.outstanding <= 0 && !ex.responseComplete) {
      armWatchdog(deadlineOf(ex)); // the reader waits again: the read timeout runs again
    }
  }

  /** The response is complete; {@code straggling} when bytes followed it. */
  private void completeResponse(Exchange ex, boolean straggling) {
    ex.responseComplete = true;
    if (straggling) {
      log.debug("{}: bytes after the end of a response; closing", this);
      closeAfterExchange = true;
    }
    if (!ex.requestWritten) {
      // The server answered before reading the whole request (RFC 9112 §9.5 allows it): deliver
      // the response, stop sending; the connection cannot carry another exchange.
      closeAfterExchange = true;
    }
    finish(ex, null);
  }

  /** Ends the current exchange; afterwards the connection is idle or closing. */
  private void finish(Exchange ex, @Nullable LlmPoolException failure) {
    current = null;
    writing = null;
    boolean reusable = failure == null && !closeAfterExchange && healthy && channel.isActive();
    if (readPaused) {
      readPaused = false;
      channel.config().setAutoRead(true);
    }
    idleSinceNanos = ticker.nanoTime();
    ex.endNanos = idleSinceNanos; // the pool's keep-alive runs from here, without a second read
    if (!reusable) {
      healthy = false;
    }
    endExchange(ex, failure, reusable);
    if (!reusable) {
      closeChannel(channel);
    }
  }

  @Override
  void abort(Exchange ex) {
    if (ex != current || ex.ended) {
      return;
    }
    // Unread response bytes would corrupt the next exchange: the connection goes.
    closeAfterExchange = true;
    finish(
        ex, new ConnectionLostException(Phase.READ, origin, "the call was cancelled", true, null));
  }

  @Override
  long checkTimeouts(long now) {
    Exchange ex = current;
    if (ex == null || ex.ended) {
      return Long.MAX_VALUE;
    }
    long deadline = deadlineOf(ex);
    if (now - deadline >= 0) {
      closeAfterExchange = true;
      finish(ex, timeoutFailure(ex, now));
      return Long.MAX_VALUE;
    }
    return deadline;
  }

  /** The connection ended (or broke) under the current exchange. */
  private void connectionLost() {
    Exchange ex = current;
    if (ex == null || ex.ended) {
      return;
    }
    closeAfterExchange = true;
    // A body delimited by the connection's end is complete only at a clean close (FIN): a reset
    // or an I/O error (lastError) cuts it short.
    if (lastError == null && parser.eof()) {
      ex.responseComplete = true;
      finish(ex, null);
      return;
    }
    Throwable cause = lastError;
    LlmPoolException failure;
    if (!ex.requestWritten && !ex.responseStarted) {
      failure = notSent("the connection was closed before the request was fully sent", cause);
    } else if (!ex.responseStarted) {
      failure =
          new ConnectionLostException(
              Phase.READ,
              origin,
              "the connection was closed after the request was sent, before any response",
              true,
              cause);
    } else if (ex.headDelivered) {
      failure =
          new ConnectionLostException(
              Phase.READ,
              origin,
              "the connection was closed before the response body was complete (got "
                  + ex.bodyReceived
                  + (ex.bodyExpected >= 0 ? " of " + ex.bodyExpected : "")
                  + " bytes)",
              true,
              cause);
    } else {
      failure =
          new ConnectionLostException(
              Phase.READ,
              origin,
              "the connection was closed in the middle of the response head",
              true,
              cause);
    }
    finish(ex, failure);
  }

  private void protocolError(H1ProtocolException e) {
    Exchange ex = current;
    closeAfterExchange = true;
    if (ex != null && !ex.ended) {
      finish(
          ex,
          new HttpProtocolException(
              origin, "malformed HTTP/1.1 response: " + e.getMessage(), true, null));
    }
    closeChannel(channel);
  }

  /** The connection's inbound handler: feeds the parser, watches the channel's end. */
  private final class Handler extends ChannelInboundHandlerAdapter {
    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (!(msg instanceof ByteBuf in)) {
        ctx.fireChannelRead(msg);
        return;
      }
      try {
        long now = ticker.nanoTime();
        lastReadNanos = now;
        Exchange ex = current;
        if (ex == null || ex.ended) {
          if (in.isReadable()) {
            // No request is outstanding: a server must not send anything now.
            log.debug(
                "{}: {} unexpected bytes while idle; closing",
                H1Connection.this,
                in.readableBytes());
            healthy = false;
            closeChannel(ctx.channel());
          }
          return;
        }
        ex.responseStarted = true;
        ex.lastProgressNanos = now;
        boolean complete;
        try {
          complete = parser.feed(in);
        } catch (H1ProtocolException e) {
          protocolError(e);
          return;
        }
        if (complete && current == ex && !ex.ended) {
          completeResponse(ex, in.isReadable());
        }
      } finally {
        in.release();
      }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
      healthy = false;
      cancelWatchdog();
      connectionLost();
      parser.release();
      ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      lastError = cause;
      log.debug("{}: {}", H1Connection.this, cause.toString());
      healthy = false;
      closeChannel(ctx.channel());
    }
  }
}
