package dev.llmpool.pool;

import dev.llmpool.Origin;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A connection that lives in memory: the test decides its protocol, stream limit, health and when
 * the "server" closes it or sends GOAWAY. Counts its users independently of the pool, so a test can
 * see an HTTP/1.1 connection handed to two calls at once.
 */
final class FakeConnection implements Connection {
  private static final AtomicInteger IDS = new AtomicInteger();

  final int id = IDS.incrementAndGet();
  final Origin origin;
  final boolean multiplexed;
  final ConnectionListener listener;
  final AtomicInteger users = new AtomicInteger();
  final AtomicInteger closeCalls = new AtomicInteger();
  volatile int maxConcurrent;
  volatile boolean healthy = true;

  /** False once the "server" killed it; unlike {@link #healthy}, the pool's close leaves it. */
  volatile boolean peerAlive = true;

  volatile long serverIdleTimeoutNanos = Long.MAX_VALUE;

  volatile boolean capacityKnown = true;

  FakeConnection(Origin origin, boolean multiplexed, int maxConcurrent, ConnectionListener l) {
    this.origin = origin;
    this.multiplexed = multiplexed;
    this.maxConcurrent = multiplexed ? maxConcurrent : 1;
    this.listener = l;
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
    return healthy ? maxConcurrent : 0;
  }

  @Override
  public boolean capacityKnown() {
    return capacityKnown;
  }

  @Override
  public boolean isHealthy() {
    return healthy && closeCalls.get() == 0;
  }

  @Override
  public long serverIdleTimeoutNanos() {
    return serverIdleTimeoutNanos;
  }

  @Override
  public void close() {
    if (listener instanceof PooledConnection pc && pc.pool.lock.isHeldByCurrentThread()) {
      throw new AssertionError("connection closed under the pool's lock");
    }
    if (closeCalls.getAndIncrement() == 0) {
      healthy = false;
    }
  }

  boolean isClosed() {
    return closeCalls.get() > 0;
  }

  /** The peer's first SETTINGS arrived, stating {@code maxStreams}. */
  void firstSettings(int maxStreams) {
    maxConcurrent = maxStreams;
    capacityKnown = true;
    listener.capacityChanged(this);
  }

  /** The peer's SETTINGS_MAX_CONCURRENT_STREAMS changed. */
  void settings(int maxStreams) {
    maxConcurrent = maxStreams;
    listener.capacityChanged(this);
  }

  /** The peer sent GOAWAY (or HTTP/1.1 Connection: close). */
  void goAway() {
    listener.noNewExchanges(this);
  }

  /** The peer closed the connection. */
  void serverClose() {
    healthy = false;
    peerAlive = false;
    listener.closed(this);
  }

  /** The connection failed with an I/O error. */
  void fail(Throwable error) {
    healthy = false;
    peerAlive = false;
    listener.closed(this, error);
  }

  /** Dies silently: the pool learns of it only by asking. */
  void dieSilently() {
    healthy = false;
    peerAlive = false;
  }

  @Override
  public String toString() {
    return "fake#" + id + (multiplexed ? "(h2)" : "(h1)");
  }
}
