package dev.llmpool.transport;

import dev.llmpool.ConnectionLostException;
import dev.llmpool.HttpProtocolException;
import dev.llmpool.LlmPoolException;
import dev.llmpool.Origin;
import dev.llmpool.Phase;
import dev.llmpool.pool.ConnectionListener;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http2.DefaultHttp2Connection;
import io.netty.handler.codec.http2.DefaultHttp2ConnectionDecoder;
import io.netty.handler.codec.http2.DefaultHttp2ConnectionEncoder;
import io.netty.handler.codec.http2.DefaultHttp2FrameReader;
import io.netty.handler.codec.http2.DefaultHttp2FrameWriter;
import io.netty.handler.codec.http2.DefaultHttp2LocalFlowController;
import io.netty.handler.codec.http2.DefaultHttp2RemoteFlowController;
import io.netty.handler.codec.http2.Http2CodecUtil;
import io.netty.handler.codec.http2.Http2Connection;
import io.netty.handler.codec.http2.Http2ConnectionAdapter;
import io.netty.handler.codec.http2.Http2ConnectionDecoder;
import io.netty.handler.codec.http2.Http2ConnectionEncoder;
import io.netty.handler.codec.http2.Http2ConnectionHandler;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2FrameAdapter;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2RemoteFlowController;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.codec.http2.Http2Stream;
import io.netty.handler.codec.http2.StreamBufferingEncoder;
import io.netty.handler.codec.http2.UniformStreamByteDistributor;
import io.netty.util.AsciiString;
import io.netty.util.collection.IntObjectHashMap;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An HTTP/2 connection (RFC 9113): many exchanges at once, one stream each, within the peer's
 * {@code SETTINGS_MAX_CONCURRENT_STREAMS}.
 *
 * <p>Capacity: until the peer's first SETTINGS frame arrives the connection reports a capacity of
 * {@value #ASSUMED_STREAMS_BEFORE_SETTINGS} and {@link #capacityKnown()} false, so that the pool
 * neither piles streams onto a connection whose limit it does not know nor opens others while it
 * learns it; then the peer's limit. A TLS connection is handed to the pool before the SETTINGS (the
 * server sends them only after its side of the handshake: waiting would cost every new connection a
 * round trip), so the call that opened it starts at once. Should the pool still start more streams
 * than the peer allows (a SETTINGS frame lowering the limit crossed our requests), Netty's {@link
 * StreamBufferingEncoder} holds the extra streams locally until a slot frees: a call waits, it
 * never fails for that reason.
 *
 * <p>At-most-once: an exchange is reported as not sent (safe to re-send) only when the server
 * provably did not process it: refused with {@code REFUSED_STREAM}, numbered above the last stream
 * id of a GOAWAY (RFC 9113 §8.7), still buffered locally when the connection went, or not fully
 * written with no response byte when the connection died. A TCP close right after a GOAWAY keeps
 * that classification (the GOAWAY's last stream id is remembered), and does not touch exchanges
 * already complete. A complete response followed by {@code RST_STREAM(NO_ERROR)} is a success: the
 * response is delivered when its END_STREAM arrives and the rest of the request body is dropped.
 *
 * <p>Flow control: each stream's receive window is returned to the server as the consumer {@link
 * Exchange#ack acknowledges} bytes, so a slow reader slows the server instead of growing a buffer.
 *
 * <p>Idle check: an exchange started on a connection that has received nothing for {@code
 * pingAfterIdle} first sends a PING and waits for its ACK (within {@code timeouts.connect}); a
 * connection that does not answer is closed and its waiting exchanges are re-sendable.
 *
 * <p>Threading: see {@link NettyConnection}; all state below is confined to the event loop except
 * the volatile capacity.
 */
final class H2Connection extends NettyConnection {
  private static final Logger log = LoggerFactory.getLogger(H2Connection.class);

  static final int ASSUMED_STREAMS_BEFORE_SETTINGS = 1;

  /** Netty's first client stream id (1 is kept for an HTTP/1.1 upgrade). */
  static final int FIRST_STREAM_ID = 3;

  /** Upper bound reported to the pool for an "unlimited" peer. */
  static final int MAX_STREAMS_CAP = 10_000;

  private static final AsciiString HTTPS = AsciiString.cached("https");
  private static final AsciiString HTTP = AsciiString.cached("http");
  private static final AsciiString CONTENT_TYPE = AsciiString.cached("content-type");
  private static final AsciiString CONTENT_LENGTH = AsciiString.cached("content-length");
  private static final AsciiString METHOD = Http2Headers.PseudoHeaderName.METHOD.value();
  private static final AsciiString PATH = Http2Headers.PseudoHeaderName.PATH.value();
  private static final AsciiString SCHEME = Http2Headers.PseudoHeaderName.SCHEME.value();
  private static final AsciiString AUTHORITY = Http2Headers.PseudoHeaderName.AUTHORITY.value();

  /** Room in a new request block: pseudo-headers, the defaults and a few of the call's own. */
  private static final int REQUEST_FIELDS = 16;

  private final DefaultHeaders defaults;
  private final StreamBudget budget;
  private final AsciiString scheme;
  private final AsciiString authority;
  private final Http2Connection h2;
  private final Handler handler;
  private final long pingAfterIdleNanos;
  private final long pingTimeoutNanos;

  private volatile int capacity = ASSUMED_STREAMS_BEFORE_SETTINGS;

  /**
   * Completes when the peer's first SETTINGS frame arrives; fails if the connection closes first.
   */
  private final CompletableFuture<Void> firstSettings = new CompletableFuture<>();

  /** Set once, on the event loop, before the pool can see the connection; read there. */
  private boolean handedOverBeforeSettings;

  /** Exchanges that used a stream and ended; written on the event loop, read by the pool. */
  private volatile int streamsEnded;

  // Event-loop confined.
  private int endedCount;
  private int streamsCreated;
  private @Nullable ChannelHandlerContext ctx;
  private final IntObjectHashMap<Exchange> streams = new IntObjectHashMap<>();
  private @Nullable ArrayDeque<Exchange> awaitingPing;
  private long pingPayload;
  private long pingDeadlineNanos;
  private @Nullable Throwable protocolError;
  private @Nullable Throwable lastError;
  private boolean flushScheduled;
  private final AsciiCache ascii = new AsciiCache();

  /** Refilled for each request; replaced when the encoder keeps it (event loop). */
  private HeaderBlock requestBlock = new HeaderBlock(REQUEST_FIELDS);

  /** True while the decoder reads: a stream that ends in the read is closed only after it. */
  private boolean reading;

  /**
   * Requests started during a read while every stream the server allows is open. The usual cause is
   * a call started from the end of another (a steady stream of calls at the connection's limit):
   * the stream that just ended still counts until the decoder closes it, right after. These go out
   * once the read is done, rather than into the buffering encoder, which would queue the stream
   * with its HEADERS and body for those few microseconds (about 0.5 KB per request).
   */
  private final ArrayDeque<Exchange> awaitingSlot = new ArrayDeque<>(4);

  private boolean slotTaskScheduled;
  private final Runnable slotTask = this::startAwaitingSlot;

  /** Requests the buffering encoder held for a free stream (a test and diagnostics counter). */
  private long bufferedRequests;

  private String @Nullable [] lastResponseHeaders;
  private final Runnable flushTask = this::flushNow;

  H2Connection(
      TransportSettings settings,
      DefaultHeaders defaults,
      StreamBudget budget,
      Channel channel,
      Origin origin,
      ConnectionListener listener,
      long id) {
    super(settings, channel, origin, listener, id);
    this.defaults = defaults;
    this.budget = budget;
    this.scheme = origin.isTls() ? HTTPS : HTTP;
    boolean defaultPort = origin.port() == (origin.isTls() ? 443 : 80);
    this.authority =
        new AsciiString(
            defaultPort ? origin.hostForUrl() : origin.hostForUrl() + ":" + origin.port());
    this.pingAfterIdleNanos = settings.pingAfterIdle.toNanos();
    this.pingTimeoutNanos = settings.timeouts.connect().toNanos();

    DefaultHttp2Connection connection = new DefaultHttp2Connection(false);
    // Bytes are returned to the window only when the consumer takes them (see Exchange.ack).
    connection.local().flowController(new DefaultHttp2LocalFlowController(connection, 0.5f, true));
    // Request bodies go out in plain turns: a client sends no priorities, so Netty's default
    // weighted-fair distributor would only cost a priority-queue entry and its upkeep per stream.
    connection
        .remote()
        .flowController(
            new DefaultHttp2RemoteFlowController(
                connection, new UniformStreamByteDistributor(connection)));
    this.h2 = connection;
    Http2ConnectionEncoder encoder =
        new StreamBufferingEncoder(
            new DefaultHttp2ConnectionEncoder(connection, new DefaultHttp2FrameWriter()));
    Http2ConnectionDecoder decoder =
        new DefaultHttp2ConnectionDecoder(
            connection,
            encoder,
            new DefaultHttp2FrameReader(HeaderBlock.decoder(settings.maxResponseHeaderBytes)));
    Http2Settings initial =
        new Http2Settings()
            .pushEnabled(false)
            .initialWindowSize(settings.h2StreamWindow)
            .maxHeaderListSize(settings.maxResponseHeaderBytes);
    this.handler = new Handler(decoder, encoder, initial);
    decoder.frameListener(new FrameListener());
    connection.addListener(new StreamListener());
    NettyConnection.install(channel, "llmpool-http2", handler);
  }

  @Override
  public boolean isMultiplexed() {
    return true;
  }

  /**
   * Completes when the peer's first SETTINGS frame arrived, so that the connection is handed to the
   * pool with the peer's real stream limit; fails when the connection closes before.
   */
  CompletableFuture<Void> firstSettings() {
    return firstSettings;
  }

  /**
   * The peer's stream limit; and when the server is known to retire connections after a number of
   * streams ({@link StreamBudget}), no more than the streams this connection may still start, so
   * that the pool (which compares this with the leases it has out) never overruns the budget.
   */
  @Override
  public int maxConcurrentExchanges() {
    if (!isHealthy()) {
      return 0;
    }
    int b = budget.limit();
    return b == Integer.MAX_VALUE ? capacity : Math.max(0, Math.min(capacity, b - streamsEnded));
  }

  /**
   * Marks the connection as given to the pool before the peer's first SETTINGS, so that their
   * arrival is announced (capacityKnown turns true). On the event loop, before the hand-over.
   */
  void handingOverBeforeSettings() {
    handedOverBeforeSettings = true;
  }

  /** False until the peer's first SETTINGS frame told its stream limit (see the class comment). */
  @Override
  public boolean capacityKnown() {
    return firstSettings.isDone();
  }

  @Override
  void exchangeEnded(Exchange ex) {
    if (ex.streamId > 0) {
      // One writer (this event loop); the volatile write publishes the count to the pool.
      endedCount++;
      streamsEnded = endedCount;
    }
  }

  @Override
  @Nullable Throwable closeCause() {
    return lastError;
  }

  @Override
  public String protocol() {
    return "HTTP/2";
  }

  // ---- Starting an exchange ----

  @Override
  void startOnLoop(Exchange ex) {
    if (!beginOnLoop(ex)) {
      return;
    }
    sendOnLoop(ex);
  }

  private void sendOnLoop(Exchange ex) {
    ChannelHandlerContext c = ctx;
    if (c == null || !channel.isActive() || h2.goAwayReceived() || !healthy) {
      endExchange(
          ex,
          h2.goAwayReceived()
              ? refused(ex, "the connection received GOAWAY before the request was sent")
              : notSent("the connection was closed before the request was sent", lastError),
          false);
      return;
    }
    if (awaitingPing != null) {
      awaitingPing.add(ex);
      armWatchdog(deadlineOf(ex));
      return;
    }
    long now = ex.writeStartNanos;
    if (pingAfterIdleNanos > 0 && streams.isEmpty() && now - lastReadNanos >= pingAfterIdleNanos) {
      startPing(c, now);
      ArrayDeque<Exchange> q = new ArrayDeque<>(4);
      q.add(ex);
      awaitingPing = q;
      armWatchdog(Math.min(pingDeadlineNanos, deadlineOf(ex)));
      return;
    }
    if (reading && !h2.local().canOpenStream()) {
      awaitingSlot.add(ex);
      if (!slotTaskScheduled) {
        slotTaskScheduled = true;
        loop.execute(slotTask);
      }
      return;
    }
    writeRequest(c, ex);
  }

  /** After the read: the requests held in {@link #awaitingSlot}, in order, checked again. */
  private void startAwaitingSlot() {
    slotTaskScheduled = false;
    for (Exchange ex = awaitingSlot.poll(); ex != null; ex = awaitingSlot.poll()) {
      if (!ex.ended) {
        sendOnLoop(ex); // not reading now: a stream still unavailable goes to the encoder's buffer
      }
    }
  }

  /** How many requests waited in the buffering encoder for a stream; on the event loop. */
  long bufferedRequests() {
    return bufferedRequests;
  }

  private void startPing(ChannelHandlerContext c, long now) {
    pingPayload = now ^ id;
    pingDeadlineNanos = now + pingTimeoutNanos;
    log.debug("{}: idle for a while, checking it with a PING before reuse", this);
    var unused = handler.encoder().writePing(c, false, pingPayload, c.newPromise());
    c.flush();
  }

  private void writeRequest(ChannelHandlerContext c, Exchange ex) {
    if (streamsCreated >= budget.limit()) {
      // The server would refuse this stream: retire the connection, send the call elsewhere.
      if (healthy) {
        notifyNoNewExchanges();
      }
      endExchange(
          ex, refused(ex, "the connection used up the server's streams per connection"), false);
      closeIfDrained();
      return;
    }
    byte[] body = ex.body();
    Http2Headers headers = requestHeaders(ex, body);
    long headerLimit = handler.encoder().configuration().headersConfiguration().maxHeaderListSize();
    if (headerLimit < Http2CodecUtil.MAX_HEADER_LIST_SIZE) {
      long size = headerListSize(headers);
      if (size > headerLimit) {
        // The server would reset the stream or the connection for it (and Netty's encoder
        // refuses it): no stream is used, the call fails now, saying why; re-sending cannot help.
        endExchange(
            ex,
            new HttpProtocolException(
                origin,
                "the request headers ("
                    + size
                    + " bytes as HTTP/2 counts them) exceed the server's"
                    + " SETTINGS_MAX_HEADER_LIST_SIZE ("
                    + headerLimit
                    + " bytes); the request was not sent",
                false,
                null),
            true);
        return;
      }
    }
    int streamId = h2.local().incrementAndGetNextStreamId();
    if (streamId < 0) {
      // Stream ids exhausted: this connection is done; the pool opens another.
      notifyNoNewExchanges();
      endExchange(ex, refused(ex, "the connection ran out of stream ids"), false);
      return;
    }
    ex.streamId = streamId;
    streams.put(streamId, ex);
    if (++streamsCreated >= budget.limit() && healthy) {
      notifyNoNewExchanges(); // the last stream the server will accept here
    }
    handler
        .encoder()
        .writeHeaders(c, streamId, headers, 0, body == null, c.newPromise())
        .addListener((ChannelFuture f) -> onHeadersWritten(ex, streamId, f, body == null));
    keepOrReplaceRequestBlock(streamId);
    if (body != null) {
      Http2Stream stream = h2.stream(streamId);
      if (stream != null) {
        handler.encoder().flowController().addFlowControlled(stream, new Body(ex, stream, body));
      } else {
        // HEADERS waits in the buffering encoder behind the server's stream limit (the stream
        // does not exist yet): the DATA waits there with it.
        handler
            .encoder()
            .writeData(c, streamId, Unpooled.wrappedBuffer(body), 0, true, c.newPromise())
            .addListener((ChannelFuture f) -> onBodyWritten(ex, streamId, f));
      }
      // DATA goes through the flow controller, which would hold it until the flush: the requests
      // of one turn would leave as all their HEADERS, then all their DATA, and a server could
      // start none of them before the last HEADERS. Queued now, each request's DATA follows its
      // HEADERS; the flush still sends the turn's frames in one write.
      try {
        handler.encoder().flowController().writePendingBytes();
      } catch (Http2Exception e) {
        handler.onError(c, true, e);
      }
    }
    flushSoon();
    if (!ex.ended) {
      armWatchdog(deadlineOf(ex));
    }
  }

  /**
   * Flushes what was written once the event loop is done with the work at hand: the requests that
   * the responses of one read start (a steady stream of calls does that), and those started by
   * tasks queued together, leave in one TLS record and one write instead of one each. The flush
   * runs as a task after the current one, so a lone request is not delayed measurably. On the event
   * loop.
   */
  private void flushSoon() {
    if (!flushScheduled) {
      flushScheduled = true;
      loop.execute(flushTask);
    }
  }

  private void flushNow() {
    flushScheduled = false;
    ChannelHandlerContext c = ctx;
    if (c != null) {
      handler.flush(c);
    }
  }

  /** RFC 9113 §6.5.2: the sum of each field's name and value octets plus 32. */
  private static long headerListSize(Http2Headers headers) {
    long size = 0;
    for (Map.Entry<CharSequence, CharSequence> e : headers) {
      size += e.getKey().length() + e.getValue().length() + 32L;
    }
    return size;
  }

  /**
   * The request's HEADERS in the connection's reusable {@link HeaderBlock}: no hash table, entry
   * objects or arrays per request (the HPACK encoder only iterates), and the strings that repeat
   * from call to call (method, path, content type and length) are converted to {@link AsciiString}
   * once per connection, not per request. Pseudo-headers first, in the order Netty's own client
   * headers use. On the event loop; see {@link #keepOrReplaceRequestBlock}.
   */
  private Http2Headers requestHeaders(Exchange ex, byte @Nullable [] body) {
    HeaderBlock h = requestBlock;
    h.clear();
    h.addTrusted(METHOD, ascii.method(ex.method()))
        .addTrusted(PATH, ascii.path(ex.target()))
        .addTrusted(SCHEME, scheme)
        .addTrusted(AUTHORITY, authority);
    long overridden = defaults.overriddenBy(ex);
    for (int i = 0; i < defaults.size(); i++) {
      if ((overridden & (1L << i)) == 0) {
        h.addTrusted(defaults.h2Name(i), defaults.h2Value(i));
      }
    }
    boolean hasContentType = false;
    int n = ex.headerCount();
    for (int i = 0; i < n; i++) {
      String name = ex.headerName(i);
      if (name.length() == 12 && name.equalsIgnoreCase("content-type")) {
        hasContentType = true;
      }
      h.addTrusted(new AsciiString(name), new AsciiString(ex.headerValue(i)));
    }
    if (body != null) {
      String ct = ex.contentType();
      if (ct != null && !hasContentType) {
        h.addTrusted(CONTENT_TYPE, ascii.contentType(ct));
      }
      h.addTrusted(CONTENT_LENGTH, ascii.length(body.length));
    }
    return h;
  }

  /**
   * After {@code writeHeaders}: when the encoder kept the block for later (the buffering encoder
   * holds a stream beyond the server's limit; the flow controller holds HEADERS queued behind
   * DATA), the next request gets a new block rather than overwriting this one.
   */
  private void keepOrReplaceRequestBlock(int streamId) {
    Http2Stream stream = h2.stream(streamId);
    if (stream == null || handler.encoder().flowController().hasFlowControlled(stream)) {
      requestBlock = new HeaderBlock(REQUEST_FIELDS);
    }
    if (stream == null) {
      bufferedRequests++;
    }
  }

  /**
   * The last method, path, content type and length as {@link AsciiString}s: calls on one connection
   * nearly always repeat them. Event-loop confined.
   */
  private static final class AsciiCache {
    private String method = "";
    private AsciiString methodAscii = AsciiString.EMPTY_STRING;
    private String path = "";
    private AsciiString pathAscii = AsciiString.EMPTY_STRING;
    private String contentType = "";
    private AsciiString contentTypeAscii = AsciiString.EMPTY_STRING;
    private int length = -1;
    private AsciiString lengthAscii = AsciiString.EMPTY_STRING;

    AsciiString method(String m) {
      if (!m.equals(method)) {
        method = m;
        methodAscii = AsciiString.cached(m);
      }
      return methodAscii;
    }

    AsciiString path(String p) {
      if (!p.equals(path)) {
        path = p;
        pathAscii = new AsciiString(p);
      }
      return pathAscii;
    }

    AsciiString contentType(String ct) {
      if (!ct.equals(contentType)) {
        contentType = ct;
        contentTypeAscii = new AsciiString(ct);
      }
      return contentTypeAscii;
    }

    AsciiString length(int len) {
      if (len != length) {
        length = len;
        lengthAscii = AsciiString.of(Integer.toString(len));
      }
      return lengthAscii;
    }
  }

  private void onHeadersWritten(Exchange ex, int streamId, ChannelFuture f, boolean endStream) {
    // The map, confined to this loop, says whether the stream is still this exchange's: the
    // exchange's own fields may already belong to a retry on another connection.
    if (streams.get(streamId) != ex || ex.ended) {
      return;
    }
    if (f.isSuccess()) {
      ex.headersWritten = true;
      if (endStream) {
        requestDone(ex);
      }
      return;
    }
    // The HEADERS frame never reached the socket (buffered behind a stream limit when a GOAWAY
    // or a close came, or the write failed): the server cannot have seen the request.
    streams.remove(streamId);
    endExchange(
        ex,
        h2.goAwayReceived()
            ? refused(ex, "the connection received GOAWAY before the request was sent")
            : notSent("the connection was closed before the request was sent", f.cause()),
        channel.isActive());
  }

  /**
   * A request body waiting for the server's flow-control window: what Netty's encoder queues for
   * {@code writeData}, without its per-frame buffer queue, its promise relay and the listener
   * lambda (about 0.3 KB per request, most of the allocation left on the request side). The body is
   * the request's own array, sent in as many DATA frames as the windows allow; the last one ends
   * the stream. Failure paths are Netty's: a write that fails, or a stream the flow controller
   * gives up on, reports the error to the connection handler (which resets the stream or closes the
   * connection) and fails the exchange once. Event-loop confined, like the flow controller that
   * drives it.
   */
  private final class Body
      implements Http2RemoteFlowController.FlowControlled, ChannelFutureListener {
    private final Exchange ex;
    private final Http2Stream stream;
    private final byte[] bytes;

    /** Bytes not yet handed to the frame writer; kept after {@link #error} (see {@link #size}). */
    private int left;

    private boolean failed;
    private @Nullable ChannelFuture last;

    Body(Exchange ex, Http2Stream stream, byte[] bytes) {
      this.ex = ex;
      this.stream = stream;
      this.bytes = bytes;
      this.left = bytes.length;
    }

    /**
     * What the flow controller still holds against the window. It must not change when {@link
     * #error} runs (the controller returns exactly this to the window); the next {@link #write}
     * then reports the body as consumed, as Netty's own frames do.
     */
    @Override
    public int size() {
      return left;
    }

    @Override
    public void write(ChannelHandlerContext c, int allowedBytes) {
      if (failed) {
        left = 0;
        return;
      }
      int n = Math.min(left, allowedBytes);
      if (n == 0 && left > 0) {
        return; // no window yet; an empty body still sends its one empty, stream-ending frame
      }
      ByteBuf part = Unpooled.wrappedBuffer(bytes, bytes.length - left, n);
      left -= n;
      ChannelPromise p = c.newPromise();
      p.addListener(this);
      if (left == 0) {
        last = p;
      }
      // p completes when the frame is written; the writer's own future (an aggregate) is not
      // needed.
      var unused = handler.encoder().frameWriter().writeData(c, stream.id(), part, 0, left == 0, p);
    }

    /** The whole body went to the frame writer: the local side of the stream is done. */
    @Override
    public void writeComplete() {
      ChannelFuture f = last;
      if (f != null) {
        handler.closeStreamLocal(stream, f);
      }
    }

    @Override
    public void error(@Nullable ChannelHandlerContext c, Throwable cause) {
      if (failed) {
        return;
      }
      failed = true;
      bodyFailed(ex, stream.id(), cause);
      if (c != null) {
        handler.onError(c, true, cause);
      }
    }

    @Override
    public boolean merge(ChannelHandlerContext c, Http2RemoteFlowController.FlowControlled next) {
      return false; // nothing else is ever written on this stream
    }

    /** Each frame's write: a failure fails the body; the last frame's success ends the request. */
    @Override
    public void operationComplete(ChannelFuture f) {
      if (!f.isSuccess()) {
        error(handler.encoder().flowController().channelHandlerContext(), f.cause());
      } else if (f == last && !failed) {
        bodyWritten(ex, stream.id());
      }
    }
  }

  private void onBodyWritten(Exchange ex, int streamId, ChannelFuture f) {
    if (f.isSuccess()) {
      bodyWritten(ex, streamId);
    } else {
      bodyFailed(ex, streamId, f.cause());
    }
  }

  private void bodyWritten(Exchange ex, int streamId) {
    if (streams.get(streamId) == ex && !ex.ended) {
      requestDone(ex);
    }
  }

  private void bodyFailed(Exchange ex, int streamId, Throwable cause) {
    if (streams.get(streamId) != ex || ex.ended) {
      return;
    }
    lastError = cause;
    // The stream or the connection failed while the body was going out.
    fail(ex, lostFailure(ex, "the stream failed while the request body was being sent", cause));
  }

  private void requestDone(Exchange ex) {
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
  }

  // ---- Ending an exchange ----

  /** Fails {@code ex}, resetting its stream if it is still open. */
  private void fail(Exchange ex, LlmPoolException failure) {
    if (ex.ended) {
      return;
    }
    int streamId = ex.streamId;
    boolean open = channel.isActive() && !h2.goAwayReceived();
    streams.remove(streamId);
    endExchange(ex, failure, open);
    resetStream(streamId, Http2Error.CANCEL);
  }

  private void resetStream(int streamId, Http2Error error) {
    if (streamId <= 0) {
      return;
    }
    streams.remove(streamId);
    ChannelHandlerContext c = ctx;
    if (c == null || !channel.isActive()) {
      return;
    }
    if (h2.goAwayReceived() && streamId > h2.local().lastStreamKnownByPeer()) {
      // The server dropped this stream when it sent GOAWAY: to it the stream is idle, and a
      // RST_STREAM for an idle stream is a connection error that would kill the streams it does
      // process.
      return;
    }
    Http2Stream stream = h2.stream(streamId);
    if (stream == null
        ? streamId <= h2.local().lastStreamCreated()
        : stream.state() == Http2Stream.State.CLOSED) {
      return; // already closed (a stream still buffered locally has no id in Netty's model yet)
    }
    // Through the encoder: a stream still buffered by the StreamBufferingEncoder is dropped
    // without a frame (the server never heard of it); a live one gets RST_STREAM.
    var unused = handler.encoder().writeRstStream(c, streamId, error.code(), c.newPromise());
    c.flush();
  }

  private void complete(Exchange ex) {
    ex.responseComplete = true;
    if (!ex.requestWritten) {
      // RFC 9113 §8.1: the server answered before reading all of the request; stop sending it.
      endExchange(ex, null, true);
      resetStream(ex.streamId, Http2Error.NO_ERROR);
      return;
    }
    endExchange(ex, null, true);
  }

  @Override
  void abort(Exchange ex) {
    if (ex.ended) {
      return;
    }
    if ((awaitingPing != null && awaitingPing.remove(ex)) || awaitingSlot.remove(ex)) {
      endExchange(ex, notSent("the call was cancelled", null), true);
      return;
    }
    int streamId = ex.streamId;
    streams.remove(streamId);
    endExchange(
        ex,
        new ConnectionLostException(
            Phase.READ, origin, "the call was cancelled", ex.headersWritten, null),
        true);
    resetStream(streamId, Http2Error.CANCEL);
  }

  @Override
  void onAck(Exchange ex, long bytes) {
    ex.lastProgressNanos = ticker.nanoTime();
    long n = Math.min(bytes, ex.outstanding);
    if (n <= 0) {
      return;
    }
    ex.outstanding -= n;
    int streamId = ex.streamId;
    if (streamId <= 0 || streams.get(streamId) != ex) {
      return;
    }
    if (ex.outstanding == 0 && !ex.responseComplete) {
      armWatchdog(deadlineOf(ex)); // the reader waits again: the read timeout runs again
    }
    Http2Stream stream = h2.stream(streamId);
    ChannelHandlerContext c = ctx;
    if (stream == null || stream.state() == Http2Stream.State.CLOSED || c == null) {
      return;
    }
    try {
      if (h2.local().flowController().consumeBytes(stream, (int) n)) {
        flushSoon(); // the WINDOW_UPDATE
      }
    } catch (Http2Exception e) {
      log.debug("{}: returning window to stream {} failed: {}", this, streamId, e.toString());
    }
  }

  @Override
  long checkTimeouts(long now) {
    long next = Long.MAX_VALUE;
    ArrayDeque<Exchange> waiting = awaitingPing;
    if (waiting != null) {
      if (now - pingDeadlineNanos >= 0) {
        awaitingPing = null;
        log.debug("{}: no PING answer within {}; closing", this, settings.timeouts.connect());
        for (Exchange ex : waiting) {
          endExchange(ex, notSent("the idle connection did not answer a PING", null), false);
        }
        close();
        return Long.MAX_VALUE;
      }
      next = pingDeadlineNanos;
      for (Exchange ex : waiting) {
        next = Math.min(next, deadlineOf(ex));
      }
    }
    List<Exchange> expired = null;
    for (Exchange ex : streams.values()) {
      if (ex.ended) {
        continue;
      }
      long d = deadlineOf(ex);
      if (now - d >= 0) {
        if (expired == null) {
          expired = new ArrayList<>(2);
        }
        expired.add(ex);
      } else {
        next = Math.min(next, d);
      }
    }
    if (expired != null) {
      for (Exchange ex : expired) {
        fail(ex, timeoutFailure(ex, now));
      }
    }
    return next;
  }

  /** The failure for an exchange whose stream or connection was lost. */
  private LlmPoolException lostFailure(Exchange ex, String what, @Nullable Throwable cause) {
    if (aboveGoAway(ex)) {
      return refused(
          ex,
          "the server's "
              + goAwayDescription()
              + " shows it did not process stream "
              + ex.streamId);
    }
    if (!ex.requestWritten && !ex.responseStarted) {
      return notSent(what + ", before the request was fully sent", cause);
    }
    Throwable pe = protocolError;
    if (pe != null) {
      return new HttpProtocolException(
          origin, "HTTP/2 protocol error: " + pe.getMessage(), true, pe);
    }
    return new ConnectionLostException(
        Phase.READ,
        origin,
        what
            + (ex.headDelivered
                ? " (response body incomplete after " + ex.bodyReceived + " bytes)"
                : ", before the response arrived")
            + " on stream "
            + ex.streamId
            + (h2.goAwayReceived() ? " (" + goAwayDescription() + ")" : ""),
        true,
        cause);
  }

  /**
   * The GOAWAY received, for messages: error code, last stream id and the server's debug data (for
   * nginx, e.g. why it gave up on the connection).
   */
  private String goAwayDescription() {
    StringBuilder b =
        new StringBuilder("GOAWAY ")
            .append(errorName(goAwayError))
            .append(", last-stream-id ")
            .append(h2.local().lastStreamKnownByPeer());
    if (!goAwayDebug.isEmpty()) {
      b.append(", debug data \"").append(goAwayDebug).append('"');
    }
    return b.toString();
  }

  private static String errorName(long code) {
    Http2Error e = Http2Error.valueOf(code);
    return e != null ? e.name() : "0x" + Long.toHexString(code);
  }

  /**
   * A GOAWAY's debug data as text for a message: at most {@value #MAX_DEBUG_CHARS} printable ASCII
   * characters (anything else becomes '?'), so that a server cannot put control characters or a
   * megabyte into an exception message.
   */
  static String sanitisedDebugData(ByteBuf data) {
    int n = Math.min(data.readableBytes(), MAX_DEBUG_CHARS);
    StringBuilder b = new StringBuilder(n + 3);
    for (int i = 0; i < n; i++) {
      int c = data.getByte(data.readerIndex() + i) & 0xFF;
      b.append(c >= 0x20 && c < 0x7F ? (char) c : '?');
    }
    if (data.readableBytes() > n) {
      b.append("...");
    }
    return b.toString().strip();
  }

  private boolean aboveGoAway(Exchange ex) {
    return h2.goAwayReceived() && ex.streamId > h2.local().lastStreamKnownByPeer();
  }

  private void closeIfDrained() {
    if (!healthy
        && streams.isEmpty()
        && awaitingPing == null
        && awaitingSlot.isEmpty()
        && channel.isOpen()) {
      closeChannel(channel);
    }
  }

  // ---- Netty callbacks ----

  /** The connection handler: Netty's HTTP/2 codec with our hooks on read, errors and close. */
  private final class Handler extends Http2ConnectionHandler {
    Handler(Http2ConnectionDecoder decoder, Http2ConnectionEncoder encoder, Http2Settings initial) {
      super(decoder, encoder, initial);
      // Connection.close() means now: fail what is in flight rather than wait for it.
      gracefulShutdownTimeoutMillis(0);
    }

    @Override
    public void handlerAdded(ChannelHandlerContext c) throws Exception {
      ctx = c;
      super.handlerAdded(c);
      int extra = settings.h2ConnectionWindow - 65_535;
      if (extra > 0) {
        Http2Stream connStream = h2.connectionStream();
        h2.local().flowController().incrementWindowSize(connStream, extra);
      }
      c.flush();
    }

    @Override
    public void channelRead(ChannelHandlerContext c, Object msg) throws Exception {
      lastReadNanos = ticker.nanoTime();
      reading = true;
      try {
        super.channelRead(c, msg);
      } finally {
        reading = false;
      }
    }

    @Override
    public void channelInactive(ChannelHandlerContext c) throws Exception {
      healthy = false;
      if (!firstSettings.isDone()) {
        Throwable why = protocolError != null ? protocolError : lastError;
        firstSettings.completeExceptionally(
            why != null ? why : new java.io.IOException("connection closed"));
      }
      cancelWatchdog();
      ArrayDeque<Exchange> waiting = awaitingPing;
      awaitingPing = null;
      if (waiting != null) {
        for (Exchange ex : waiting) {
          endExchange(
              ex, notSent("the connection closed before the request was sent", lastError), false);
        }
      }
      super.channelInactive(c);
      // Streams Netty did not report closed (still buffered locally) end here.
      if (!streams.isEmpty()) {
        List<Exchange> left = new ArrayList<>(streams.values());
        streams.clear();
        for (Exchange ex : left) {
          endExchange(ex, lostFailure(ex, "the connection closed", lastError), false);
        }
      }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext c, Throwable cause) throws Exception {
      lastError = cause;
      log.debug("{}: {}", H2Connection.this, cause.toString());
      if (Http2CodecUtil.getEmbeddedHttp2Exception(cause) != null) {
        super.exceptionCaught(c, cause); // protocol errors: GOAWAY, then close
      } else {
        // I/O errors (a reset): the connection is gone; channelInactive classifies the streams.
        healthy = false;
        closeChannel(c.channel());
      }
    }

    @Override
    protected void onConnectionError(
        ChannelHandlerContext c, boolean outbound, Throwable cause, Http2Exception http2Ex) {
      if (!outbound) {
        protocolError = cause;
      }
      lastError = cause;
      healthy = false;
      super.onConnectionError(c, outbound, cause, http2Ex);
    }

    @Override
    protected void onStreamError(
        ChannelHandlerContext c,
        boolean outbound,
        Throwable cause,
        Http2Exception.StreamException streamEx) {
      Exchange ex = streams.get(streamEx.streamId());
      if (ex != null && !ex.ended && !outbound) {
        streams.remove(streamEx.streamId());
        endExchange(
            ex,
            new HttpProtocolException(
                origin, "HTTP/2 stream error: " + cause.getMessage(), true, cause),
            true);
      }
      super.onStreamError(c, outbound, cause, streamEx);
    }
  }

  /** Frame callbacks from Netty's decoder. */
  private final class FrameListener extends Http2FrameAdapter {
    @Override
    public void onHeadersRead(
        ChannelHandlerContext c,
        int streamId,
        Http2Headers headers,
        int padding,
        boolean endOfStream) {
      Exchange ex = streams.get(streamId);
      if (ex == null || ex.ended) {
        return;
      }
      ex.responseStarted = true;
      ex.lastProgressNanos = ticker.nanoTime();
      if (!ex.headDelivered) {
        int status = statusOf(headers);
        if (status < 0) {
          fail(
              ex,
              new HttpProtocolException(origin, "response without a valid :status", true, null));
          return;
        }
        if (status < 200) {
          if (endOfStream) {
            fail(
                ex,
                new HttpProtocolException(origin, "stream ended after a 1xx response", true, null));
          }
          return; // informational: the final response follows
        }
        ex.headDelivered = true;
        CharSequence cl = headers.get(CONTENT_LENGTH);
        // RFC 9110 §8.6: in a response to HEAD, and in 204 and 304, Content-Length describes the
        // representation, not a body: such a response has none.
        if (cl != null && !noBody(ex, status)) {
          ex.bodyExpected = HeaderBlock.length(cl);
        }
        try {
          ex.onResponseHead(status, toStrings(HeaderBlock.of(headers)), true);
        } catch (RuntimeException e) {
          log.warn("onResponseHead threw", e);
        }
      }
      if (endOfStream && !ex.ended) {
        complete(ex);
      }
    }

    @Override
    public void onHeadersRead(
        ChannelHandlerContext c,
        int streamId,
        Http2Headers headers,
        int streamDependency,
        short weight,
        boolean exclusive,
        int padding,
        boolean endOfStream) {
      onHeadersRead(c, streamId, headers, padding, endOfStream);
    }

    @Override
    public int onDataRead(
        ChannelHandlerContext c, int streamId, ByteBuf data, int padding, boolean endOfStream) {
      int len = data.readableBytes();
      Exchange ex = streams.get(streamId);
      if (ex == null || ex.ended || !ex.headDelivered) {
        if (ex != null && !ex.ended) {
          fail(ex, new HttpProtocolException(origin, "DATA before response headers", true, null));
        }
        return len + padding;
      }
      ex.responseStarted = true;
      ex.lastProgressNanos = ticker.nanoTime();
      int acked = 0;
      if (len > 0) {
        ex.bodyReceived += len;
        ex.outstanding += len;
        ex.inlineAcked = 0;
        ex.delivering = true;
        try {
          ex.onResponseData(data.retain());
        } catch (RuntimeException e) {
          log.warn("onResponseData threw", e);
        } finally {
          ex.delivering = false;
        }
        acked = (int) Math.min(ex.inlineAcked, ex.outstanding);
        ex.outstanding -= acked;
        ex.inlineAcked = 0;
      }
      if (endOfStream && !ex.ended) {
        complete(ex);
      }
      return acked + padding;
    }

    @Override
    public void onRstStreamRead(ChannelHandlerContext c, int streamId, long errorCode) {
      Exchange ex = streams.remove(streamId);
      if (ex == null || ex.ended) {
        return; // e.g. RST_STREAM(NO_ERROR) after a complete response: nothing to do
      }
      if (errorCode == Http2Error.REFUSED_STREAM.code()) {
        endExchange(ex, refused(ex, "the server refused the stream (REFUSED_STREAM)"), true);
        return;
      }
      Http2Error e = Http2Error.valueOf(errorCode);
      String code = e != null ? e.name() : "0x" + Long.toHexString(errorCode);
      if (aboveGoAway(ex)) {
        endExchange(ex, lostFailure(ex, "reset", null), true);
        return;
      }
      endExchange(
          ex,
          new ConnectionLostException(
              Phase.READ,
              origin,
              "the server reset the stream ("
                  + code
                  + ")"
                  + (ex.headDelivered
                      ? " after " + ex.bodyReceived + " bytes of response body"
                      : " before the response"),
              true,
              null),
          true);
    }

    @Override
    public void onSettingsRead(ChannelHandlerContext c, Http2Settings s) {
      Long max = s.maxConcurrentStreams();
      int before = capacity;
      int now;
      if (max != null) {
        now = (int) Math.min(max, MAX_STREAMS_CAP);
      } else if (before == ASSUMED_STREAMS_BEFORE_SETTINGS && !settingsSeen) {
        now = MAX_STREAMS_CAP; // the peer states no limit
      } else {
        now = before;
      }
      settingsSeen = true;
      if (now != before) {
        capacity = now;
      }
      if (!firstSettings.isDone()) {
        firstSettings.complete(null);
        if (handedOverBeforeSettings) {
          // The limit is known now, changed or not: a pool that held back connects while it was
          // being learnt (capacityKnown) must look again.
          log.debug("{}: peer allows {} concurrent streams", H2Connection.this, now);
          notifyCapacityChanged();
        }
        return; // otherwise the pool has not seen the connection yet: nothing to notify
      }
      if (now != before) {
        log.debug("{}: peer allows {} concurrent streams", H2Connection.this, now);
        notifyCapacityChanged();
      }
    }

    @Override
    public void onPingAckRead(ChannelHandlerContext c, long data) {
      ArrayDeque<Exchange> waiting = awaitingPing;
      if (waiting == null || data != pingPayload) {
        return;
      }
      awaitingPing = null;
      for (Exchange ex : waiting) {
        if (!ex.ended) {
          writeRequest(c, ex);
        }
      }
    }
  }

  private boolean settingsSeen;

  /** The received GOAWAY's error code and sanitised debug data; event-loop confined. */
  private long goAwayError;

  private String goAwayDebug = "";

  private static final int MAX_DEBUG_CHARS = 200;

  /** Stream and connection events from Netty's connection model. */
  private final class StreamListener extends Http2ConnectionAdapter {
    @Override
    public void onGoAwayReceived(int lastStreamId, long errorCode, ByteBuf debugData) {
      goAwayError = errorCode;
      goAwayDebug = sanitisedDebugData(debugData);
      log.debug(
          "{}: GOAWAY last-stream-id={} error={}", H2Connection.this, lastStreamId, errorCode);
      capacity = 0;
      // Only a GOAWAY that comes while streams are in flight can be a server's requests-per-
      // connection limit; one on an idle connection is an idle timeout (nginx's
      // keepalive_timeout) and says nothing about how many streams a connection may carry.
      if (errorCode == Http2Error.NO_ERROR.code()
          && lastStreamId >= FIRST_STREAM_ID
          && !streams.isEmpty()) {
        budget.goAway((lastStreamId - FIRST_STREAM_ID) / 2 + 1);
      }
      notifyNoNewExchanges();
      // Netty now closes the streams above lastStreamId; onStreamClosed classifies them.
      loop.execute(H2Connection.this::closeIfDrained);
    }

    @Override
    public void onStreamClosed(Http2Stream stream) {
      Exchange ex = streams.remove(stream.id());
      if (ex != null && !ex.ended) {
        if (ex.responseComplete) {
          endExchange(ex, null, true);
        } else {
          boolean alive = channel.isActive();
          endExchange(
              ex,
              lostFailure(ex, alive ? "the stream closed" : "the connection closed", lastError),
              alive && !h2.goAwayReceived());
        }
      }
      if (!healthy) {
        loop.execute(H2Connection.this::closeIfDrained);
      }
    }
  }

  private static boolean noBody(Exchange ex, int status) {
    return status == 204 || status == 304 || "HEAD".equals(ex.method());
  }

  private static int statusOf(Http2Headers headers) {
    CharSequence s = headers.status();
    if (s == null || s.length() != 3) {
      return -1;
    }
    int v = 0;
    for (int i = 0; i < 3; i++) {
      int d = s.charAt(i) - '0';
      if (d < 0 || d > 9) {
        return -1;
      }
      v = v * 10 + d;
    }
    return v;
  }

  /**
   * The response's fields as names and values alternating, pseudo-headers removed. A server sends
   * nearly the same fields every time, so a string of the previous response on this connection at
   * the same position is reused when it has the same characters: a response costs no new strings
   * but for the values that change, and no new array when nothing changed (the array is never
   * written to once handed over: {@code HttpHeaders} wraps it read-only). On the event loop.
   */
  private String[] toStrings(HeaderBlock headers) {
    int fields = headers.size();
    int regular = 0;
    for (int i = 0; i < fields; i++) {
      CharSequence name = headers.name(i);
      if (name.length() == 0 || name.charAt(0) != ':') {
        regular++;
      }
    }
    String[] prev = lastResponseHeaders;
    if (prev != null && prev.length == regular * 2 && sameAs(prev, headers)) {
      return prev; // the same fields as the last response: its array is never written to again
    }
    String[] out = new String[regular * 2];
    int n = 0;
    for (int i = 0; i < fields; i++) {
      CharSequence name = headers.name(i);
      if (name.length() > 0 && name.charAt(0) == ':') {
        continue;
      }
      out[n] = reuse(prev, n, name);
      n++;
      out[n] = reuse(prev, n, headers.value(i));
      n++;
    }
    lastResponseHeaders = out;
    return out;
  }

  private static boolean sameAs(String[] prev, HeaderBlock headers) {
    int n = 0;
    for (int i = 0; i < headers.size(); i++) {
      CharSequence name = headers.name(i);
      if (name.length() > 0 && name.charAt(0) == ':') {
        continue;
      }
      if (!prev[n].contentEquals(name) || !prev[n + 1].contentEquals(headers.value(i))) {
        return false;
      }
      n += 2;
    }
    return true;
  }

  private static String reuse(String @Nullable [] prev, int i, CharSequence text) {
    if (prev != null && i < prev.length && prev[i].contentEquals(text)) {
      return prev[i];
    }
    return text.toString();
  }
}
