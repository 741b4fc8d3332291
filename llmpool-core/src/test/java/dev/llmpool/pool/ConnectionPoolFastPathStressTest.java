package dev.llmpool.pool;

/**
 * {@link ConnectionPoolStressTest} with no idle cap below {@code maxConnections}: HTTP/1.1
 * connections are then released to and taken from the pool's lock-free stack, racing with the
 * locked path, waiters, timeouts, closes and the server.
 */
class ConnectionPoolFastPathStressTest extends ConnectionPoolStressTest {
  @Override
  int maxIdleConnections() {
    return 6;
  }
}
