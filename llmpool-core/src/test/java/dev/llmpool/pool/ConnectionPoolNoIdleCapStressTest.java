package dev.llmpool.pool;

/**
 * {@link ConnectionPoolStressTest} with no idle cap below {@code maxConnections}: every released
 * HTTP/1.1 connection stays idle (none is trimmed), so reuse, expiry and eviction for another host
 * race with waiters, timeouts, closes and the server.
 */
class ConnectionPoolNoIdleCapStressTest extends ConnectionPoolStressTest {
  @Override
  int maxIdleConnections() {
    return 6;
  }
}
