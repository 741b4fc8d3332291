package dev.llmpool.bench.peers;

import java.time.Duration;

/**
 * The pooling every client is given, so that they compete on the same terms: at most {@code
 * maxConnectionsPerHost} connections to the one origin, idle connections kept for {@code
 * idleTimeout}, and room for {@code maxPending} calls waiting for a connection. Each adapter maps
 * these onto its library's own knobs and lists the exact settings in {@link
 * PeerClientFactory#settings(PoolSettings)}.
 */
public record PoolSettings(int maxConnectionsPerHost, Duration idleTimeout, int maxPending) {

  /** The matrix's settings: 100 connections per host, 30 s idle, 10,000 waiting calls. */
  public static final PoolSettings MATRIX = new PoolSettings(100, Duration.ofSeconds(30), 10_000);

  /** The memory probe's: room for 1,000 idle connections that must not expire while it measures. */
  public static final PoolSettings MEMORY = new PoolSettings(1_100, Duration.ofMinutes(10), 10_000);

  public PoolSettings {
    if (maxConnectionsPerHost < 1 || maxPending < 1 || idleTimeout.isNegative()) {
      throw new IllegalArgumentException("bad pool settings: " + maxConnectionsPerHost);
    }
  }
}
