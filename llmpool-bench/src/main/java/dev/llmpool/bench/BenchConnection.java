package dev.llmpool.bench;

import dev.llmpool.Origin;
import dev.llmpool.pool.Connection;
import dev.llmpool.pool.ConnectionFactory;
import dev.llmpool.pool.ConnectionListener;
import java.util.concurrent.CompletableFuture;
import org.jspecify.annotations.Nullable;

/**
 * A connection with no socket behind it, for measuring the pool alone: what a transport's {@link
 * Connection} costs at most on the pool's hot path (field reads).
 */
final class BenchConnection implements Connection {
  private final Origin origin;
  private final boolean multiplexed;
  private final int maxStreams;

  BenchConnection(Origin origin, boolean multiplexed, int maxStreams) {
    this.origin = origin;
    this.multiplexed = multiplexed;
    this.maxStreams = maxStreams;
  }

  @Override
  public Origin origin() {
    return origin;
  }

  @Override
  public boolean isMultiplexed() {
    return multiplexed;
  }

  @Override
  public int maxConcurrentExchanges() {
    return maxStreams;
  }

  @Override
  public boolean isHealthy() {
    return true;
  }

  @Override
  public void close() {}

  /** A factory whose connects succeed at once. */
  static ConnectionFactory factory(boolean multiplexed, int maxStreams) {
    return new ConnectionFactory() {
      @Override
      public CompletableFuture<Connection> open(
          Origin origin, ConnectionListener listener, @Nullable Object cause) {
        return CompletableFuture.completedFuture(
            new BenchConnection(origin, multiplexed, maxStreams));
      }

      @Override
      public boolean expectsMultiplexing(Origin origin) {
        return multiplexed;
      }
    };
  }
}
