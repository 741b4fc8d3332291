package dev.llmpool.transport;

import dev.llmpool.ConnectionLostException;
import dev.llmpool.EventListener;
import dev.llmpool.LlmPoolException;
import dev.llmpool.Origin;
import dev.llmpool.Phase;
import dev.llmpool.ReadTimeoutException;
import dev.llmpool.Timeouts;
import dev.llmpool.TotalTimeoutException;
import dev.llmpool.WriteTimeoutException;
import dev.llmpool.pool.Connection;
import dev.llmpool.pool.ConnectionListener;
import dev.llmpool.time.Ticker;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.EventLoop;
import io.netty.util.concurrent.ScheduledFuture;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A pooled connection on a Netty channel: the common part of HTTP/1.1 and HTTP/2.
 *
 * <p>Threading: the pool-facing methods of {@link Connection} read volatile fields and may be
 * called from any thread. Everything else — the exchange(s) in flight, the parser, the watchdog —
 * is confined to the channel's event loop ({@link #loop}); methods that need it say so and assert
 * it.
 *
 * <p>Timeouts: one watchdog timer per connection, not one per request. It is armed at the earliest
 * deadline of the exchanges in flight (write, read gap, total) and, when it fires, fails the
 * exchanges whose deadline passed and re-arms for the next. A new exchange re-arms it only when its
 * deadline is earlier than the armed one, so a busy connection with default timeouts allocates a
 * timer about once per read timeout, not once per request. Deadlines are read on the {@link
 * Ticker}; the timer itself runs on the event loop.
 */
public abstract class NettyConnection implements Connection, EventListener.ConnectionInfo {
  private static final Logger log = LoggerFactory.getLogger(NettyConnection.class);

  final TransportSettings settings;
  final Ticker ticker;
  final Channel channel;
  final EventLoop loop;
  final Origin origin;
  final ConnectionListener listener;
  final long id;
  private final @Nullable InetSocketAddress remote;
  final long writeTimeoutNanos;
  final long readTimeoutNanos;

  /** False once the connection must carry no new exchange. */
  volatile boolean healthy = true;

  private final AtomicBoolean closedNotified = new AtomicBoolean();

  // Event-loop confined.
  private @Nullable ScheduledFuture<?> watchdog;
  private long watchdogAtNanos = Long.MAX_VALUE;
  private final Runnable watchdogTask = this::runWatchdog;

  /** When a byte last arrived on the connection (ticker nanos); event-loop confined. */
  long lastReadNanos;

  /** When the last exchange ended, for the idle PING check; event-loop confined. */
  long idleSinceNanos;

  NettyConnection(
      TransportSettings settings,
      Channel channel,
      Origin origin,
      ConnectionListener listener,
      long id) {
    this.settings = settings;
    this.ticker = settings.ticker;
    this.channel = channel;
    this.loop = channel.eventLoop();
    this.origin = origin;
    this.listener = listener;
    this.id = id;
    SocketAddress ra = channel.remoteAddress();
    this.remote = ra instanceof InetSocketAddress isa ? isa : null;
    this.writeTimeoutNanos = settings.timeouts.write().toNanos();
    this.readTimeoutNanos = settings.timeouts.read().toNanos();
    long now = ticker.nanoTime();
    this.lastReadNanos = now;
    this.idleSinceNanos = now;
    channel.closeFuture().addListener(f -> notifyClosed());
  }

  // ---- Connection (any thread) ----

  @Override
  public final Origin origin() {
    return origin;
  }

  @Override
  public boolean isHealthy() {
    return healthy && channel.isActive();
  }

  @Override
  public final void close() {
    healthy = false;
    closeChannel(channel);
  }

  // ---- ConnectionInfo ----

  @Override
  public final long id() {
    return id;
  }

  @Override
  public final @Nullable InetSocketAddress remoteAddress() {
    return remote;
  }

  @Override
  public String toString() {
    return "Connection#" + id + "[" + protocol() + " " + origin + "]";
  }

  // ---- Exchanges ----

  /**
   * Starts {@code exchange} on this connection. Any thread; the work happens on the event loop.
   * Never throws: a connection that cannot take the exchange ends it with a failure that says the
   * request was not sent (so it may be retried).
   */
  public final void start(Exchange exchange) {
    // Reset here, before the exchange is visible to the event loop (the hand-off orders these
    // writes before the loop's reads). The previous attempt's connection no longer refers to it:
    // connections forget an exchange before ending it.
    exchange.resetForAttempt(this, ticker.nanoTime());
    if (loop.inEventLoop()) {
      startOnLoop(exchange);
    } else {
      loop.execute(exchange.startTask());
    }
  }

  /**
   * Starts the exchange; on the event loop. Must first return if the exchange already {@linkplain
   * Exchange#ended ended} (cancelled before it started), then stamp its start time.
   */
  abstract void startOnLoop(Exchange exchange);

  /** Common start: false when the exchange must not start (already ended or cancelled). */
  final boolean beginOnLoop(Exchange ex) {
    if (ex.ended) {
      return false;
    }
    long now = ticker.nanoTime();
    ex.writeStartNanos = now;
    ex.lastProgressNanos = now;
    if (ex.cancelled) {
      endExchange(ex, notSent("the call was cancelled", null), true);
      return false;
    }
    return true;
  }

  /** The consumer took {@code bytes} of the exchange's response body; on the event loop. */
  abstract void onAck(Exchange exchange, long bytes);

  /** The exchange was cancelled; on the event loop. */
  abstract void abort(Exchange exchange);

  /**
   * Fails the exchanges whose deadline is at or before {@code now} and returns the earliest
   * remaining deadline, or {@link Long#MAX_VALUE}; on the event loop.
   */
  abstract long checkTimeouts(long now);

  /** The earliest instant at which {@code ex} times out (ticker nanos). */
  final long deadlineOf(Exchange ex) {
    long d = ex.totalDeadlineNanos();
    if (!ex.requestWritten && !ex.responseComplete) {
      d = Math.min(d, ex.writeStartNanos + writeTimeoutNanos);
    }
    if ((ex.requestWritten || ex.responseStarted) && !ex.responseComplete && ex.outstanding == 0) {
      // The read timeout measures the server's silence while the reader waits for bytes: while
      // the reader holds body bytes it has not taken (and backpressure may hold the server back),
      // its own pause does not count. It runs again from the moment the reader took everything.
      d = Math.min(d, ex.lastProgressNanos + readTimeoutNanos);
    }
    return d;
  }

  /** The exception for an exchange whose deadline ({@link #deadlineOf}) has passed. */
  final LlmPoolException timeoutFailure(Exchange ex, long now) {
    Timeouts t = settings.timeouts;
    boolean processed = ex.requestWritten || ex.responseStarted;
    if (now - ex.totalDeadlineNanos() >= 0) {
      return new TotalTimeoutException(
          origin,
          "the call did not finish within timeouts.total (" + t.total() + ")",
          t.total(),
          processed,
          null);
    }
    if (!ex.requestWritten && now - (ex.writeStartNanos + writeTimeoutNanos) >= 0) {
      return new WriteTimeoutException(
          origin,
          "the request was not fully sent within timeouts.write (" + t.write() + ")",
          t.write(),
          processed,
          null);
    }
    return new ReadTimeoutException(
        origin,
        (ex.responseStarted ? "no response byte" : "no response")
            + " arrived for timeouts.read ("
            + t.read()
            + ")",
        t.read(),
        processed,
        null);
  }

  /** Makes sure the watchdog fires no later than {@code deadlineNanos}; on the event loop. */
  final void armWatchdog(long deadlineNanos) {
    assert loop.inEventLoop();
    if (deadlineNanos == Long.MAX_VALUE) {
      return;
    }
    if (watchdog != null) {
      if (deadlineNanos - watchdogAtNanos >= 0) {
        return;
      }
      watchdog.cancel(false);
    }
    long delay = Math.max(0L, deadlineNanos - ticker.nanoTime());
    watchdogAtNanos = deadlineNanos;
    watchdog = loop.schedule(watchdogTask, delay, TimeUnit.NANOSECONDS);
  }

  private void runWatchdog() {
    watchdog = null;
    watchdogAtNanos = Long.MAX_VALUE;
    long next = checkTimeouts(ticker.nanoTime());
    if (next != Long.MAX_VALUE && channel.isOpen()) {
      armWatchdog(next);
    }
  }

  /** Stops the watchdog when the connection closes; on the event loop. */
  final void cancelWatchdog() {
    if (watchdog != null) {
      watchdog.cancel(false);
      watchdog = null;
      watchdogAtNanos = Long.MAX_VALUE;
    }
  }

  /**
   * A failure for an exchange that never reached the server because its connection died (closed,
   * reset, no answer to a PING): safe to send elsewhere.
   */
  final LlmPoolException notSent(String why, @Nullable Throwable cause) {
    return new ConnectionLostException(Phase.WRITE, origin, why, false, cause);
  }

  /**
   * A failure for an exchange the server turned away unprocessed (HTTP/2 REFUSED_STREAM, GOAWAY):
   * safe to send elsewhere; marked so on the exchange (see {@link Exchange#attemptRefused()}).
   */
  final LlmPoolException refused(Exchange ex, String why) {
    ex.refused = true;
    return new ConnectionLostException(Phase.WRITE, origin, why, false, null);
  }

  /** Ends {@code ex} (once), calling its callback safely; on the event loop. */
  final void endExchange(Exchange ex, @Nullable LlmPoolException failure, boolean reusable) {
    if (ex.ended) {
      return;
    }
    ex.ended = true;
    exchangeEnded(ex);
    try {
      ex.onEnd(failure, reusable);
    } catch (RuntimeException e) {
      log.warn("exchange end callback threw on {}", this, e);
    }
  }

  /** Adds a protocol handler in front of the pipeline's error sink. */
  static void install(Channel ch, String name, ChannelHandler handler) {
    if (ch.pipeline().get(ErrorSink.NAME) != null) {
      ch.pipeline().addBefore(ErrorSink.NAME, name, handler);
    } else {
      ch.pipeline().addLast(name, handler);
    }
  }

  /** Closes a channel; the outcome is observed through its close future. */
  @SuppressWarnings("FutureReturnValueIgnored")
  static void closeChannel(Channel ch) {
    ch.close();
  }

  /**
   * The I/O or protocol error that closed the connection, or null for a clean close; the pool
   * counts closes by cause.
   */
  @Nullable Throwable closeCause() {
    return null;
  }

  /** Bookkeeping when an exchange ends, before its callback; on the event loop. */
  void exchangeEnded(Exchange ex) {}

  /** Tells the pool, once, that the connection is gone. */
  private void notifyClosed() {
    healthy = false;
    if (closedNotified.compareAndSet(false, true)) {
      log.debug("{} closed", this);
      try {
        listener.closed(this, closeCause());
      } catch (RuntimeException e) {
        log.warn("pool listener threw on close of {}", this, e);
      }
    }
  }

  /** Tells the pool that the connection takes no new exchange; any thread. */
  final void notifyNoNewExchanges() {
    healthy = false;
    try {
      listener.noNewExchanges(this);
    } catch (RuntimeException e) {
      log.warn("pool listener threw on {}", this, e);
    }
  }

  /** Tells the pool that the stream limit changed; any thread. */
  final void notifyCapacityChanged() {
    try {
      listener.capacityChanged(this);
    } catch (RuntimeException e) {
      log.warn("pool listener threw on {}", this, e);
    }
  }
}
