package dev.llmpool.http.internal;

import dev.llmpool.EventListener;
import dev.llmpool.LlmPoolException;
import dev.llmpool.Origin;
import dev.llmpool.Phase;
import dev.llmpool.PoolClosedException;
import dev.llmpool.Timeouts;
import dev.llmpool.http.HttpRequest;
import dev.llmpool.http.HttpResponse;
import dev.llmpool.http.StreamingResponse;
import dev.llmpool.time.Ticker;
import dev.llmpool.transport.NettyTransport;
import java.net.URI;
import java.time.Duration;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.jspecify.annotations.Nullable;

/**
 * The HTTP client engine behind {@code LlmPool}: turns requests into calls, resolves targets
 * against the base URL, and offers the blocking and asynchronous forms of sending. It counts calls
 * in flight so that closing the pool can wait for them.
 *
 * <p>Thread-safe.
 */
public final class HttpEngine {
  /**
   * How many times a call is re-sent, in all, after attempts the server provably did not process (a
   * dead connection that took none of it, REFUSED_STREAM, a stream above a GOAWAY's last stream
   * id). One is the common case; a server that sends GOAWAY every few streams can refuse a re-sent
   * stream again, so a few are allowed for those, within {@code timeouts.total}. A request the
   * server may have processed is never re-sent, whatever this number.
   */
  public static final int MAX_SAFE_RETRIES = 3;

  /**
   * Of those, how many may follow a connection that died before the request left (a stale pooled
   * HTTP/1.1 connection the server had just closed, an HTTP/2 connection that closed or did not
   * answer a PING): one, as issue 5 specifies. The re-send goes to another connection; when that
   * dies too, the host is likely failing, and the call ends with an exception saying that nothing
   * was processed, so the caller's own retry policy decides.
   */
  public static final int MAX_DEAD_CONNECTION_RESENDS = 1;

  final LeaseSource leases;
  final Ticker ticker;
  final long poolTimeoutNanos;
  final long maxResponseBodySize;
  private final @Nullable Origin baseOrigin;
  private final String basePath;
  private final @Nullable String baseQuery;
  private final Timeouts timeouts;
  private final EventListener listener;
  private final AtomicLong callIds = new AtomicLong();
  private final AtomicInteger inFlight = new AtomicInteger();
  private volatile boolean closed;
  private final CompletableFuture<Void> drained = new CompletableFuture<>();

  /**
   * @param baseUrl the base URL relative targets resolve against, or null; its query, if any, is
   *     added to every relative target
   * @param listener the pool's event listener
   */
  public HttpEngine(
      LeaseSource leases,
      @Nullable URI baseUrl,
      Timeouts timeouts,
      long maxResponseBodySize,
      EventListener listener,
      Ticker ticker) {
    this.leases = leases;
    this.ticker = ticker;
    this.timeouts = timeouts;
    this.poolTimeoutNanos = timeouts.pool().toNanos();
    this.maxResponseBodySize = maxResponseBodySize;
    this.listener = listener;
    if (baseUrl != null) {
      this.baseOrigin = Origin.of(baseUrl);
      String p = baseUrl.getRawPath();
      if (p == null) {
        p = "";
      }
      while (p.endsWith("/")) {
        p = p.substring(0, p.length() - 1);
      }
      this.basePath = p;
      this.baseQuery = baseUrl.getRawQuery();
    } else {
      this.baseOrigin = null;
      this.basePath = "";
      this.baseQuery = null;
    }
  }

  /** Sends {@code request}; the future completes with the whole response. */
  public CompletableFuture<HttpResponse> sendAsync(HttpRequest request) {
    @SuppressWarnings("unchecked")
    CompletableFuture<HttpResponse> f =
        (CompletableFuture<HttpResponse>) (Object) call(request, false);
    return f;
  }

  /** Sends {@code request}; the future completes once the status and headers arrived. */
  public CompletableFuture<StreamingResponse> streamAsync(HttpRequest request) {
    @SuppressWarnings("unchecked")
    CompletableFuture<StreamingResponse> f =
        (CompletableFuture<StreamingResponse>) (Object) call(request, true);
    return f;
  }

  /** Sends {@code request} and waits for the whole response. */
  public HttpResponse send(HttpRequest request) {
    return (HttpResponse) await(call(request, false));
  }

  /** Sends {@code request} and waits for the status and headers. */
  public StreamingResponse stream(HttpRequest request) {
    return (StreamingResponse) await(call(request, true));
  }

  private CallFuture<Object> call(HttpRequest request, boolean streaming) {
    Origin origin;
    String target;
    if (request.isAbsolute()) {
      URI uri = URI.create(request.target());
      origin = Origin.of(uri);
      String path = uri.getRawPath();
      String query = uri.getRawQuery();
      target = (path == null || path.isEmpty() ? "/" : path) + (query == null ? "" : "?" + query);
    } else {
      Origin base = baseOrigin;
      if (base == null) {
        throw new IllegalArgumentException(
            "request target '" + request + "' is relative but the pool has no baseUrl");
      }
      origin = base;
      String t = request.target();
      if (t.startsWith("/")) {
        // No copy of the caller's target when the base URL has no path (one String per call).
        target = basePath.isEmpty() ? t : basePath + t;
      } else {
        target = basePath + "/" + t;
      }
      if (target.isEmpty() || target.startsWith("?")) {
        target = "/" + target;
      }
      String q = baseQuery;
      if (q != null) {
        // The base URL's query goes with every request under it (Azure's api-version).
        target = target + (target.indexOf('?') < 0 ? "?" : "&") + q;
      }
    }
    EventListener l = Listeners.both(listener, request.listener());
    Duration total = request.timeout() != null ? request.timeout() : timeouts.total();
    long now = ticker.nanoTime();
    RealCall call =
        new RealCall(
            this, request, origin, target, l, callIds.incrementAndGet(), now, total, streaming);
    CallFuture<Object> f = call.future();
    if (closed) {
      f.completeExceptionally(new PoolClosedException(origin, "the pool is closed"));
      return f;
    }
    inFlight.incrementAndGet();
    call.start();
    return f;
  }

  private static Object await(CallFuture<Object> f) {
    if (NettyTransport.onIoThread() && !f.isDone()) {
      throw new IllegalStateException(
          "a blocking llmpool call on an llmpool I/O thread would wait for itself; use the async"
              + " form");
    }
    try {
      return f.get();
    } catch (InterruptedException e) {
      f.cancel(true);
      Thread.currentThread().interrupt();
      RealCall call = callOf(f);
      throw new LlmPoolException(
          call.maybeSent() ? Phase.READ : Phase.POOL,
          call.origin(),
          "interrupted while waiting for the response",
          call.maybeSent(),
          e);
    } catch (ExecutionException e) {
      Throwable c = e.getCause();
      if (c instanceof LlmPoolException lpe) {
        throw lpe;
      }
      if (c instanceof RuntimeException re) {
        throw re;
      }
      throw new IllegalStateException(c);
    } catch (CancellationException e) {
      RealCall call = callOf(f);
      throw call.cancelled(call.maybeSent() ? Phase.READ : Phase.POOL, call.maybeSent());
    }
  }

  private static RealCall callOf(CallFuture<Object> f) {
    return f.call();
  }

  /**
   * A new call id, unique within the pool: for work that is not one HTTP call but is reported to
   * the event listener as one (a chat call and its retries).
   */
  public long newCallId() {
    return callIds.incrementAndGet();
  }

  /** A call ended (success or failure). */
  void callEnded() {
    if (inFlight.decrementAndGet() == 0 && closed) {
      drained.complete(null);
    }
  }

  /** Calls started and not yet ended. */
  public int inFlight() {
    return inFlight.get();
  }

  /** Refuses new calls from now on; the future completes when the calls in flight have ended. */
  public CompletableFuture<Void> shutdown() {
    closed = true;
    if (inFlight.get() == 0) {
      drained.complete(null);
    }
    return drained;
  }

  /**
   * One listener telling {@code first} and then {@code second} every event, each failure isolated;
   * {@code first} alone when {@code second} is null or {@link EventListener#NONE} (and the other
   * way round), so that no listener still costs nothing.
   */
  public static EventListener combine(EventListener first, @Nullable EventListener second) {
    return Listeners.both(first, second);
  }

  /** Composes the pool's and a call's listener. */
  static final class Listeners {
    private Listeners() {}

    static EventListener both(EventListener pool, @Nullable EventListener call) {
      if (call == null || call == EventListener.NONE) {
        return pool;
      }
      if (pool == EventListener.NONE) {
        return call;
      }
      return new Both(pool, call);
    }
  }
}
