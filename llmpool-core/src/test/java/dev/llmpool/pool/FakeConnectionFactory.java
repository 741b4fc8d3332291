package dev.llmpool.pool;

import dev.llmpool.ConnectFailedException;
import dev.llmpool.Origin;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.jspecify.annotations.Nullable;

/**
 * A factory whose connects complete when the test says: every {@link #open} is recorded as an
 * {@link Attempt}; the test then succeeds or fails it. With {@link #autoComplete} set, connects
 * succeed at once. Thread-safe.
 */
class FakeConnectionFactory implements ConnectionFactory {
  private final List<Attempt> attempts = new ArrayList<>();
  volatile boolean expectMultiplexing;

  /** When set, every connect succeeds at once with this protocol. */
  volatile @Nullable Boolean autoComplete;

  volatile int autoStreams = 100;

  /** A connect the pool started. */
  static final class Attempt {
    final Origin origin;
    final ConnectionListener listener;
    final @Nullable Object cause;
    final CompletableFuture<Connection> future = new CompletableFuture<>();
    volatile @Nullable FakeConnection connection;

    Attempt(Origin origin, ConnectionListener listener, @Nullable Object cause) {
      this.origin = origin;
      this.listener = listener;
      this.cause = cause;
    }

    FakeConnection succeedHttp1() {
      return succeed(false, 1);
    }

    FakeConnection succeedHttp2(int maxStreams) {
      return succeed(true, maxStreams);
    }

    /** HTTP/2 handed over before the peer's SETTINGS: one stream, limit not yet known. */
    FakeConnection succeedHttp2BeforeSettings() {
      FakeConnection c = new FakeConnection(origin, true, 1, listener);
      c.capacityKnown = false;
      connection = c;
      future.complete(c);
      return c;
    }

    FakeConnection succeed(boolean multiplexed, int maxStreams) {
      FakeConnection c = new FakeConnection(origin, multiplexed, maxStreams, listener);
      connection = c;
      future.complete(c);
      return c;
    }

    ConnectFailedException fail() {
      ConnectFailedException e =
          new ConnectFailedException(origin, "connection refused (fake)", false, null);
      future.completeExceptionally(e);
      return e;
    }

    boolean isCancelled() {
      return future.isCancelled();
    }
  }

  @Override
  public CompletableFuture<Connection> open(
      Origin origin, ConnectionListener listener, @Nullable Object cause) {
    Attempt a = new Attempt(origin, listener, cause);
    synchronized (this) {
      attempts.add(a);
    }
    Boolean auto = autoComplete;
    if (auto != null) {
      a.succeed(auto, autoStreams);
    }
    return a.future;
  }

  @Override
  public boolean expectsMultiplexing(Origin origin) {
    return expectMultiplexing;
  }

  synchronized List<Attempt> attempts() {
    return new ArrayList<>(attempts);
  }

  synchronized Attempt attempt(int i) {
    return attempts.get(i);
  }

  synchronized int count() {
    return attempts.size();
  }

  /** Attempts not yet completed, oldest first. */
  synchronized List<Attempt> pending() {
    List<Attempt> out = new ArrayList<>();
    for (Attempt a : attempts) {
      if (!a.future.isDone()) {
        out.add(a);
      }
    }
    return out;
  }

  /** The oldest attempt not yet completed. */
  Attempt next() {
    List<Attempt> p = pending();
    if (p.isEmpty()) {
      throw new AssertionError("no connect in progress");
    }
    return p.get(0);
  }
}
