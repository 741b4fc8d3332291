package dev.llmpool.metrics;

import dev.llmpool.EventListener;
import dev.llmpool.MetricsSink;
import dev.llmpool.Origin;
import dev.llmpool.pool.Connection;
import dev.llmpool.pool.ConnectionFactory;
import dev.llmpool.pool.ConnectionListener;
import dev.llmpool.time.Ticker;
import java.net.InetSocketAddress;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A {@link ConnectionFactory} that tells a {@link MetricsSink} when each connection opens and how
 * long it lived when it closes, without the pool knowing: it stands between the pool and the
 * transport, and between the transport and the pool's {@link ConnectionListener}. Installed only
 * when a sink asks for connection events, so a pool without one pays nothing.
 *
 * <p>Thread-safe: each connection's {@link Tracker} moves through its states atomically, so the
 * open (on whatever thread completes the connect) and the close (on the connection's I/O thread)
 * are reported once each, in that order; a connection that closes before its open was seen, or that
 * the pool never received, is reported neither opened nor closed.
 */
public final class InstrumentedConnections implements ConnectionFactory {
  private static final Logger log = LoggerFactory.getLogger(InstrumentedConnections.class);

  private final ConnectionFactory delegate;
  private final MetricsSink sink;
  private final Ticker ticker;

  public InstrumentedConnections(ConnectionFactory delegate, MetricsSink sink, Ticker ticker) {
    this.delegate = delegate;
    this.sink = sink;
    this.ticker = ticker;
  }

  @Override
  public CompletableFuture<Connection> open(
      Origin origin, ConnectionListener listener, @Nullable Object cause) {
    Tracker t = new Tracker(listener);
    CompletableFuture<Connection> f = delegate.open(origin, t, cause);
    // A side effect on the transport's own future, so that the pool's cancel still reaches it.
    var unused =
        f.whenComplete(
            (c, e) -> {
              if (c != null) {
                t.opened(c);
              }
            });
    return f;
  }

  @Override
  public boolean expectsMultiplexing(Origin origin) {
    return delegate.expectsMultiplexing(origin);
  }

  private static final int CONNECTING = 0;
  private static final int OPEN = 1;
  private static final int CLOSED = 2;

  /** One connection's listener, reporting its open and close to the sink. */
  private final class Tracker implements ConnectionListener {
    private final ConnectionListener pool;
    private final AtomicInteger state = new AtomicInteger(CONNECTING);
    private volatile long openedAt;
    private volatile EventListener.@Nullable ConnectionInfo info;

    Tracker(ConnectionListener pool) {
      this.pool = pool;
    }

    void opened(Connection c) {
      EventListener.ConnectionInfo i = infoOf(c);
      info = i;
      openedAt = ticker.nanoTime();
      if (state.compareAndSet(CONNECTING, OPEN)) {
        try {
          sink.connectionOpened(i);
        } catch (RuntimeException e) {
          log.warn("metrics sink threw; ignored", e);
        }
      }
    }

    @Override
    public void capacityChanged(Connection connection) {
      pool.capacityChanged(connection);
    }

    @Override
    public void noNewExchanges(Connection connection) {
      pool.noNewExchanges(connection);
    }

    @Override
    public void closed(Connection connection) {
      pool.closed(connection);
      report();
    }

    @Override
    public void closed(Connection connection, @Nullable Throwable error) {
      pool.closed(connection, error);
      report();
    }

    private void report() {
      int was = state.getAndSet(CLOSED);
      EventListener.ConnectionInfo i = info;
      if (was != OPEN || i == null) {
        return;
      }
      try {
        sink.connectionClosed(i, Math.max(0, ticker.nanoTime() - openedAt));
      } catch (RuntimeException e) {
        log.warn("metrics sink threw; ignored", e);
      }
    }
  }

  private static EventListener.ConnectionInfo infoOf(Connection c) {
    if (c instanceof EventListener.ConnectionInfo i) {
      return i;
    }
    return new Info(c.origin(), c.isMultiplexed() ? "HTTP/2" : "HTTP/1.1");
  }

  /** For connections that do not describe themselves (fakes in tests). */
  private record Info(Origin origin, String protocol) implements EventListener.ConnectionInfo {
    @Override
    public long id() {
      return 0;
    }

    @Override
    public @Nullable InetSocketAddress remoteAddress() {
      return null;
    }
  }
}
