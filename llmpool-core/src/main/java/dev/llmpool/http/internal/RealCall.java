package dev.llmpool.http.internal;

import dev.llmpool.CallCancelledException;
import dev.llmpool.ConnectionLostException;
import dev.llmpool.EventListener;
import dev.llmpool.LlmPoolException;
import dev.llmpool.Origin;
import dev.llmpool.Phase;
import dev.llmpool.PoolTimeoutException;
import dev.llmpool.ResponseTooLargeException;
import dev.llmpool.TotalTimeoutException;
import dev.llmpool.http.HttpHeaders;
import dev.llmpool.http.HttpRequest;
import dev.llmpool.http.HttpVersion;
import dev.llmpool.pool.Lease;
import dev.llmpool.transport.CallContext;
import dev.llmpool.transport.Exchange;
import dev.llmpool.transport.NettyConnection;
import io.netty.buffer.ByteBuf;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.function.BiConsumer;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One call: acquires a lease, runs the exchange on its connection, retries it when (and only when)
 * the server provably did not process it, and delivers the response, whole or streamed. It is the
 * transport's {@link Exchange} and the pool's acquire cause, so a call is one object however many
 * steps it takes.
 *
 * <p>At-most-once: a failed attempt is re-sent only if its exception says the request was not
 * processed ({@link LlmPoolException#requestMayHaveBeenProcessed()} false: never fully written to a
 * connection that died before answering, refused with REFUSED_STREAM, or above a GOAWAY's last
 * stream id), only for a lost connection or stream (never a timeout), at most {@link
 * HttpEngine#MAX_SAFE_RETRIES} times, and at most once after a connection that died (see {@link
 * #retryable}). Every other failure ends the call.
 *
 * <p>Threading: the call is started on the caller's thread; its callbacks run on the event loop of
 * the connection of the current attempt, or on the thread that completes the pool's acquire. One
 * attempt runs at a time, and each hand-off (acquire completion, connection start) orders the
 * previous step's writes before the next step's reads. {@link #cancelCall()} may run on any thread.
 */
final class RealCall extends Exchange implements CallContext, BiConsumer<Lease, Throwable> {
  private static final Logger log = LoggerFactory.getLogger(RealCall.class);
  private static final byte[] EMPTY = new byte[0];

  /** The most allocated for a response body before its bytes arrive. */
  static final int INITIAL_BODY_BUFFER = 64 * 1024;

  private final HttpEngine engine;
  private final HttpRequest request;
  private final Origin origin;
  private final String target;
  private final byte @Nullable [] body;
  private final EventListener listener;
  private final boolean listening;
  private final long id;
  private final long totalDeadlineNanos;
  private final Duration totalLimit;
  private final boolean streaming;

  /**
   * The caller's future, until the call hands it its result. Dropped once a streamed response is
   * delivered: that response is then reachable only from the caller, so that an unclosed one the
   * caller forgets can be collected and its lease reclaimed (see {@link StreamHandle}).
   */
  private @Nullable CallFuture<Object> future;

  private int attempt = 1;

  /** Re-sends made because a connection died before the request left (at most one). */
  private int deadConnectionResends;

  private volatile @Nullable CompletableFuture<Lease> acquiring;
  private @Nullable Lease lease;
  private @Nullable NettyConnection leasedConnection;
  private boolean finished;

  // Response state of the current attempt (event loop).
  private int status;
  private HttpHeaders responseHeaders = HttpHeaders.empty();
  private boolean http2;
  private byte[] acc = EMPTY;
  private int accLength;
  private @Nullable LlmPoolException pendingFailure;
  private @Nullable StreamBody stream;

  RealCall(
      HttpEngine engine,
      HttpRequest request,
      Origin origin,
      String target,
      EventListener listener,
      long id,
      long startNanos,
      Duration totalLimit,
      boolean streaming) {
    this.engine = engine;
    this.request = request;
    this.origin = origin;
    this.target = target;
    this.body = HttpAccess.get().body(request);
    this.listener = listener;
    this.listening = listener != EventListener.NONE;
    this.id = id;
    this.totalLimit = totalLimit;
    this.totalDeadlineNanos = startNanos + totalLimit.toNanos();
    this.streaming = streaming;
    this.future = new CallFuture<>(this);
  }

  /** The future the engine returns to the caller; taken right after construction. */
  CallFuture<Object> future() {
    return java.util.Objects.requireNonNull(future, "future already handed over");
  }

  // ---- CallInfo / CallContext ----

  @Override
  public long id() {
    return id;
  }

  @Override
  public String method() {
    return request.method();
  }

  @Override
  public Origin origin() {
    return origin;
  }

  @Override
  public String path() {
    int q = target.indexOf('?');
    return q < 0 ? target : target.substring(0, q);
  }

  @Override
  public EventListener listener() {
    return listener;
  }

  // ---- Exchange: the request ----

  @Override
  public String target() {
    return target;
  }

  @Override
  public int headerCount() {
    return request.headers().size();
  }

  @Override
  public String headerName(int i) {
    return request.headers().name(i);
  }

  @Override
  public String headerValue(int i) {
    return request.headers().value(i);
  }

  @Override
  public byte @Nullable [] body() {
    return body;
  }

  @Override
  public @Nullable String contentType() {
    return request.contentType();
  }

  @Override
  public long totalDeadlineNanos() {
    return totalDeadlineNanos;
  }

  // ---- Running ----

  void start() {
    if (listening) {
      try {
        listener.callStart(this);
      } catch (RuntimeException e) {
        listenerFailed(e);
      }
    }
    acquire();
  }

  private void acquire() {
    if (isCancelled()) {
      finishFailed(cancelled(Phase.POOL, false));
      return;
    }
    Lease l = engine.leases.tryAcquire(origin);
    if (l != null) {
      onLease(l);
      return;
    }
    long remaining = totalDeadlineNanos - engine.ticker.nanoTime();
    if (remaining <= 0) {
      finishFailed(totalTimeout(false));
      return;
    }
    long wait = Math.min(engine.poolTimeoutNanos, remaining);
    CompletableFuture<Lease> f;
    try {
      f = engine.leases.acquire(origin, wait, this);
    } catch (RuntimeException e) {
      finishFailed(asLlmPoolException(e, false));
      return;
    }
    acquiring = f;
    if (isCancelled()) {
      f.cancel(false);
    }
    var unused = f.whenComplete(this);
  }

  /** The pool's acquire completed. */
  @Override
  public void accept(@Nullable Lease l, @Nullable Throwable error) {
    acquiring = null;
    if (l != null) {
      onLease(l);
      return;
    }
    Throwable cause = unwrap(error);
    if (cause instanceof CancellationException || isCancelled()) {
      finishFailed(cancelled(Phase.POOL, false));
      return;
    }
    if (cause instanceof PoolTimeoutException pte
        && totalDeadlineNanos - engine.ticker.nanoTime() <= 0) {
      finishFailed(totalTimeout(false, pte));
      return;
    }
    finishFailed(asLlmPoolException(cause, false));
  }

  private void onLease(Lease l) {
    NettyConnection conn = (NettyConnection) l.connection();
    lease = l;
    leasedConnection = conn;
    if (listening) {
      try {
        listener.connectionAcquired(this, conn, l.reused(), l.waitedNanos());
      } catch (RuntimeException e) {
        listenerFailed(e);
      }
    }
    status = 0;
    acc = EMPTY;
    accLength = 0;
    pendingFailure = null;
    conn.start(this);
  }

  // ---- Exchange callbacks (event loop) ----

  @Override
  protected void onRequestWritten(long bodyBytes) {
    if (listening) {
      try {
        listener.requestHeadersEnd(this);
      } catch (RuntimeException e) {
        listenerFailed(e);
      }
      try {
        listener.requestBodyEnd(this, bodyBytes);
      } catch (RuntimeException e) {
        listenerFailed(e);
      }
    }
  }

  @Override
  protected void onResponseHead(int status, String[] headers, boolean http2) {
    this.status = status;
    this.http2 = http2;
    this.responseHeaders = HttpAccess.get().headers(headers);
    if (listening) {
      try {
        listener.responseHeadersEnd(this, status);
      } catch (RuntimeException e) {
        listenerFailed(e);
      }
    }
    if (streaming) {
      StreamBody s = new StreamBody(this, engine, status, responseHeaders, version());
      stream = s;
      StreamHandle h = new StreamHandle(s);
      Lease l = lease;
      if (l != null) {
        // From now on the caller owns the exchange: if it drops the response unclosed, the pool
        // reclaims the lease when the handle is collected, and closing the body abandons the
        // exchange (resets the HTTP/2 stream, closes the HTTP/1.1 connection with unread bytes).
        l.trackOwner(h, s::close);
      }
      CallFuture<Object> f = future;
      future = null;
      if (f == null || !f.complete(h)) {
        // The caller gave up (cancelled) before the head arrived.
        s.close();
      }
      return;
    }
    long expected = responseContentLength();
    if (expected > engine.maxResponseBodySize) {
      tooLarge(expected);
      return;
    }
    if (expected > 0) {
      // The announced length is the server's word, not bytes in hand: reserve at most a chunk
      // now and grow as the body arrives, so that a server announcing large bodies and sending
      // none cannot hold maxResponseBodySize per call.
      acc = new byte[(int) Math.min(expected, INITIAL_BODY_BUFFER)];
    }
  }

  @Override
  protected void onResponseData(ByteBuf data) {
    StreamBody s = stream;
    if (s != null) {
      s.offer(data);
      return;
    }
    int n = data.readableBytes();
    try {
      if (pendingFailure != null) {
        return;
      }
      long total = (long) accLength + n;
      if (total > engine.maxResponseBodySize) {
        tooLarge(total);
        return;
      }
      if (total > acc.length) {
        long want = Math.max(total, acc.length * 2L + 8192);
        long expected = responseContentLength();
        if (expected >= total) {
          want = Math.min(want, expected); // never beyond the announced length
        }
        acc = Arrays.copyOf(acc, (int) Math.min(want, Integer.MAX_VALUE - 8));
      }
      data.readBytes(acc, accLength, n);
      accLength += n;
    } finally {
      data.release();
    }
    ack(n);
  }

  private void tooLarge(long size) {
    pendingFailure =
        new ResponseTooLargeException(
            origin,
            "response body of "
                + size
                + "+ bytes exceeds maxResponseBodySize ("
                + engine.maxResponseBodySize
                + " bytes); read it with stream() instead",
            engine.maxResponseBodySize,
            null);
    cancel();
  }

  @Override
  protected void onEnd(@Nullable LlmPoolException failure, boolean reusable) {
    if (pendingFailure != null) {
      failure = pendingFailure; // the call itself abandoned the exchange (body too large)
    } else if (failure != null && isCancelled() && !(failure instanceof CallCancelledException)) {
      // The transport ends an abandoned exchange as lost; to the caller and the listener it is a
      // cancellation (metrics must not count it as a network failure).
      failure = cancelled(failure.phase(), failure.requestMayHaveBeenProcessed());
    }
    if (failure == null && listening) {
      try {
        listener.responseBodyEnd(this, responseBodyReceived());
      } catch (RuntimeException e) {
        listenerFailed(e);
      }
    }
    Lease l = lease;
    NettyConnection conn = leasedConnection;
    lease = null;
    leasedConnection = null;
    if (l != null) {
      if (reusable) {
        l.release(attemptEndNanos()); // spares the pool a clock read
      } else {
        l.discard();
      }
      if (listening && conn != null) {
        try {
          listener.connectionReleased(this, conn);
        } catch (RuntimeException e) {
          listenerFailed(e);
        }
      }
    }
    if (failure == null) {
      succeed();
      return;
    }
    if (!isCancelled() && retryable(failure)) {
      if (!attemptRefused()) {
        deadConnectionResends++;
      }
      attempt++;
      String reason = failure.getMessage();
      if (listening) {
        try {
          listener.retry(this, reason == null ? "not processed" : reason, Duration.ZERO, attempt);
        } catch (RuntimeException e) {
          listenerFailed(e);
        }
      }
      log.debug("call {} to {}: re-sending (attempt {}): {}", id, origin, attempt, reason);
      acquire();
      return;
    }
    finishFailed(failure);
  }

  /**
   * The re-send rule (docs/http.md, "Safe retry"): only a lost connection or stream the server
   * provably did not process; at most {@link HttpEngine#MAX_SAFE_RETRIES} re-sends in all, of which
   * at most {@link HttpEngine#MAX_DEAD_CONNECTION_RESENDS} after a connection that died before the
   * request left; within {@code timeouts.total}.
   */
  private boolean retryable(LlmPoolException failure) {
    return !failure.requestMayHaveBeenProcessed()
        && request.resendIfUnprocessed()
        && failure instanceof ConnectionLostException
        && !responseHeadDelivered()
        && attempt <= HttpEngine.MAX_SAFE_RETRIES
        && (attemptRefused() || deadConnectionResends < HttpEngine.MAX_DEAD_CONNECTION_RESENDS)
        && totalDeadlineNanos - engine.ticker.nanoTime() > 0;
  }

  private void succeed() {
    // The call's end is recorded (event, in-flight count) before the caller can see the result.
    finish(null);
    StreamBody s = stream;
    if (s != null) {
      s.complete();
    } else {
      CallFuture<Object> f = future;
      if (f != null) {
        f.complete(HttpAccess.get().response(status, responseHeaders, version(), acc, accLength));
      }
    }
  }

  private void finishFailed(LlmPoolException failure) {
    finish(failure);
    StreamBody s = stream;
    if (s != null) {
      s.fail(failure);
    } else {
      CallFuture<Object> f = future;
      if (f != null) {
        f.completeExceptionally(failure);
      }
    }
  }

  private void finish(@Nullable LlmPoolException failure) {
    if (finished) {
      return;
    }
    finished = true;
    if (listening) {
      try {
        if (failure == null) {
          listener.callEnd(this);
        } else {
          listener.callFailed(this, failure);
        }
      } catch (RuntimeException e) {
        listenerFailed(e);
      }
    }
    engine.callEnded();
  }

  /** Cancels the call from any thread (future cancelled, caller interrupted, body closed early). */
  void cancelCall() {
    cancel();
    CompletableFuture<Lease> f = acquiring;
    if (f != null) {
      f.cancel(false);
    }
  }

  HttpVersion version() {
    return http2 ? HttpVersion.HTTP_2 : HttpVersion.HTTP_1_1;
  }

  /** Whether the request may have reached the server, as far as this thread can tell. */
  boolean maybeSent() {
    return leasedConnection != null || attempt > 1 || requestStarted();
  }

  LlmPoolException cancelled(Phase phase, boolean processed) {
    return new CallCancelledException(phase, origin, processed);
  }

  private LlmPoolException totalTimeout(boolean processed) {
    return totalTimeout(processed, null);
  }

  private LlmPoolException totalTimeout(boolean processed, @Nullable Throwable cause) {
    return new TotalTimeoutException(
        origin,
        "the call did not finish within timeouts.total (" + totalLimit + ")",
        totalLimit,
        processed,
        cause);
  }

  private LlmPoolException asLlmPoolException(@Nullable Throwable t, boolean processed) {
    if (t instanceof LlmPoolException e) {
      return e;
    }
    return new LlmPoolException(
        Phase.POOL,
        origin,
        "could not get a connection: " + (t == null ? "unknown error" : t.toString()),
        processed,
        t);
  }

  private static @Nullable Throwable unwrap(@Nullable Throwable t) {
    while (t instanceof CompletionException && t.getCause() != null) {
      t = t.getCause();
    }
    return t;
  }

  /**
   * A listener threw: logged and ignored. Events are emitted inline (no lambda per event), so that
   * even a listener costs no allocation on the call's path.
   */
  private static void listenerFailed(RuntimeException e) {
    log.warn("event listener threw; ignored", e);
  }
}
