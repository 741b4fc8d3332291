package dev.llmpool.transport;

import dev.llmpool.LlmPoolException;
import io.netty.buffer.ByteBuf;
import io.netty.channel.EventLoop;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import org.jspecify.annotations.Nullable;

/**
 * One request/response exchange on a {@link NettyConnection}: what the HTTP layer hands the
 * transport to send, and where the transport reports the response. The HTTP layer's call object
 * extends it, so that a call costs one object however many hops it makes (no per-request handler,
 * listener or lambda on a reused connection).
 *
 * <p>Life of one attempt: the HTTP layer calls {@link NettyConnection#start(Exchange)}; the
 * transport writes the request, then calls {@link #onResponseHead}, {@link #onResponseData} zero or
 * more times, and finally {@link #onEnd} exactly once (success or failure). An exchange may be
 * started again on another connection after {@code onEnd} (a safe retry); the transport resets its
 * own fields at each start.
 *
 * <p>Threading: the request getters are read on the connection's event loop after {@code start};
 * the callbacks run on that event loop and must not block. {@link #ack} and {@link #cancel} may be
 * called from any thread. The transport's fields below are confined to the event loop of the
 * connection the exchange is started on, except those marked volatile or atomic.
 */
public abstract class Exchange {

  // ---- Transport state of the current attempt (event-loop confined unless said otherwise) ----

  /** The connection of the current attempt; written before the start task is posted. */
  volatile @Nullable NettyConnection connection;

  /** Set once by {@link #cancel()}, from any thread. */
  volatile boolean cancelled;

  private static final VarHandle PENDING_ACK;

  static {
    try {
      PENDING_ACK = MethodHandles.lookup().findVarHandle(Exchange.class, "pendingAck", long.class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  /**
   * Bytes the consumer acknowledged on another thread and the event loop has not applied yet.
   * Updated through {@link #PENDING_ACK}: a field, not an {@code AtomicLong}, so that a call costs
   * one object less.
   */
  @SuppressWarnings("UnusedVariable") // accessed through PENDING_ACK
  private volatile long pendingAck;

  // The tasks that hand work to the event loop, made on first use: a call that runs on the loop,
  // or is never acknowledged or cancelled from another thread, makes none. A race makes two equal
  // tasks (each captures only this exchange), which is harmless.
  private @Nullable Runnable ackTask;
  private @Nullable Runnable startTask;
  private @Nullable Runnable cancelTask;

  /** HTTP/2 stream id, or -1. */
  int streamId;

  /** The request's first byte went to the socket layer (headers written for HTTP/2). */
  boolean headersWritten;

  /** Every byte of the request was written. */
  boolean requestWritten;

  /** A byte of the response arrived. */
  boolean responseStarted;

  /** The whole response arrived (status, headers and body). */
  boolean responseComplete;

  /** {@link #onEnd} was called for this attempt. */
  boolean ended;

  /** The response head was delivered to {@link #onResponseHead}. */
  boolean headDelivered;

  /**
   * The attempt ended unsent because the server turned the stream away (REFUSED_STREAM, above or
   * after a GOAWAY, the server's streams per connection used up), not because its connection died.
   */
  boolean refused;

  /**
   * When the attempt ended (ticker nanos), if the transport read the clock there; else {@link
   * Long#MIN_VALUE}.
   */
  long endNanos;

  /** When the request started being written (ticker nanos). */
  long writeStartNanos;

  /** When a byte last arrived, or the request finished writing, or the consumer last took data. */
  long lastProgressNanos;

  /** Response body bytes delivered to {@link #onResponseData} and not yet acknowledged. */
  long outstanding;

  /** Response body bytes received so far. */
  long bodyReceived;

  /** Content-Length of the response, or -1. */
  long bodyExpected;

  /** Bytes acknowledged synchronously inside an HTTP/2 DATA callback; see {@link #ack}. */
  int inlineAcked;

  /** True while the transport delivers data to {@link #onResponseData} on the event loop. */
  boolean delivering;

  /** Clears the transport's per-attempt state; called by the connection at start. */
  final void resetForAttempt(NettyConnection conn, long nowNanos) {
    this.connection = conn;
    streamId = -1;
    headersWritten = false;
    requestWritten = false;
    responseStarted = false;
    responseComplete = false;
    ended = false;
    headDelivered = false;
    refused = false;
    endNanos = Long.MIN_VALUE;
    writeStartNanos = nowNanos;
    lastProgressNanos = nowNanos;
    outstanding = 0;
    bodyReceived = 0;
    bodyExpected = -1;
    inlineAcked = 0;
    delivering = false;
    PENDING_ACK.setVolatile(this, 0L);
  }

  // ---- What the HTTP layer may read of the attempt (on the event loop, in callbacks) ----

  /** The response's Content-Length, or -1 when it has none (chunked, HTTP/2 without it). */
  protected final long responseContentLength() {
    return bodyExpected;
  }

  /** Response body bytes received so far in this attempt. */
  protected final long responseBodyReceived() {
    return bodyReceived;
  }

  /** True once this attempt delivered a response head. */
  protected final boolean responseHeadDelivered() {
    return headDelivered;
  }

  /**
   * True when this attempt failed unsent because the server turned its stream away (HTTP/2
   * REFUSED_STREAM, a GOAWAY, its streams per connection used up) rather than because the
   * connection died under it: the HTTP layer allows more re-sends for the first.
   */
  protected final boolean attemptRefused() {
    return refused;
  }

  /**
   * When this attempt ended, in ticker nanos, as the transport read it; {@link Long#MIN_VALUE} when
   * it did not read the clock there. Valid in {@link #onEnd}.
   */
  protected final long attemptEndNanos() {
    return endNanos;
  }

  /** True once this attempt wrote the request's first bytes. */
  protected final boolean requestStarted() {
    return headersWritten;
  }

  // ---- The request, provided by the HTTP layer ----

  /** The method, upper case, e.g. {@code POST}. */
  public abstract String method();

  /** The request target in origin form: path and query, e.g. {@code /v1/chat/completions}. */
  public abstract String target();

  /** How many request headers (beyond the pool's default headers) the request has. */
  public abstract int headerCount();

  /** Name of request header {@code i}, as given (validated: a token). */
  public abstract String headerName(int i);

  /** Value of request header {@code i} (validated: no control character but HTAB; ISO-8859-1). */
  public abstract String headerValue(int i);

  /** The request body, or null for none. The transport does not modify it. */
  public abstract byte @Nullable [] body();

  /** The body's media type (written as Content-Type unless a request header sets one). */
  public abstract @Nullable String contentType();

  /**
   * When the whole call must have ended, in ticker nanos ({@code timeouts.total} from the call's
   * start, retries included).
   */
  public abstract long totalDeadlineNanos();

  // ---- Callbacks from the transport, on the connection's event loop ----

  /** The request, headers and {@code bodyBytes} of body, was fully written. */
  protected abstract void onRequestWritten(long bodyBytes);

  /**
   * The final (non-1xx) response head arrived.
   *
   * @param headers names and values alternating, pseudo-headers removed
   * @param http2 true when the exchange runs over HTTP/2
   */
  protected abstract void onResponseHead(int status, String[] headers, boolean http2);

  /**
   * A piece of the response body. Ownership of {@code data} passes to the callee, which must
   * release it. Call {@link #ack} once the bytes are consumed: until then they count against the
   * flow-control window (HTTP/2) or the read-ahead limit (HTTP/1.1), which is how a slow consumer
   * slows the server down instead of growing a buffer.
   */
  protected abstract void onResponseData(ByteBuf data);

  /**
   * The attempt ended: {@code failure} is null when the response arrived completely. Called once
   * per attempt, after the transport is done with the exchange's connection slot.
   *
   * @param reusable true when the connection (HTTP/1.1) or at least its slot (HTTP/2) may serve
   *     another exchange: release the lease; false: discard it
   */
  protected abstract void onEnd(@Nullable LlmPoolException failure, boolean reusable);

  // ---- Controls, from any thread ----

  /**
   * The consumer has taken {@code bytes} of response body delivered by {@link #onResponseData}: the
   * transport may let the server send that much more. Cheap on the event loop; from another thread,
   * acknowledgements are batched into one event-loop task.
   */
  public final void ack(long bytes) {
    if (bytes <= 0) {
      return;
    }
    NettyConnection conn = connection;
    if (conn == null) {
      return;
    }
    EventLoop loop = conn.loop;
    if (loop.inEventLoop()) {
      if (delivering) {
        // Inside an HTTP/2 DATA callback: returned to the flow controller by the callback itself.
        inlineAcked += (int) bytes;
      } else {
        conn.onAck(this, bytes);
      }
      return;
    }
    if ((long) PENDING_ACK.getAndAdd(this, bytes) == 0) {
      Runnable t = ackTask;
      if (t == null) {
        t = this::applyPendingAck;
        ackTask = t;
      }
      loop.execute(t);
    }
  }

  private void applyPendingAck() {
    long n = (long) PENDING_ACK.getAndSet(this, 0L);
    NettyConnection conn = connection;
    if (n > 0 && conn != null) {
      conn.onAck(this, n);
    }
  }

  /**
   * Abandons the exchange: an HTTP/1.1 connection with unread response bytes is closed, an HTTP/2
   * stream is reset with CANCEL. {@link #onEnd} follows (if it has not run yet). Idempotent.
   */
  public final void cancel() {
    cancelled = true;
    NettyConnection conn = connection;
    if (conn == null) {
      return;
    }
    if (conn.loop.inEventLoop()) {
      applyCancel();
    } else {
      Runnable t = cancelTask;
      if (t == null) {
        t = this::applyCancel;
        cancelTask = t;
      }
      conn.loop.execute(t);
    }
  }

  /** The task that starts this exchange on its connection's event loop. */
  final Runnable startTask() {
    Runnable t = startTask;
    if (t == null) {
      t = this::applyStart;
      startTask = t;
    }
    return t;
  }

  private void applyStart() {
    NettyConnection conn = connection;
    if (conn != null) {
      conn.startOnLoop(this);
    }
  }

  private void applyCancel() {
    NettyConnection conn = connection;
    if (conn != null) {
      conn.abort(this);
    }
  }

  /** True once {@link #cancel()} was called. */
  public final boolean isCancelled() {
    return cancelled;
  }
}
