package dev.llmpool.transport;

import java.net.InetAddress;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * Turns a host name into addresses. The transport puts a {@link DnsCache} in front of it; tests
 * replace it to simulate DNS changes and failures.
 *
 * <p>Thread-safe; {@link #resolve} must not block.
 */
public interface HostResolver extends AutoCloseable {

  /**
   * Resolves {@code host} (never an IP literal). Completes with at least one address, or
   * exceptionally (any exception: the transport turns it into a {@code DnsException}).
   */
  CompletableFuture<Resolved> resolve(String host);

  /** Releases resources (sockets, threads). */
  @Override
  default void close() {}

  /**
   * What a lookup found.
   *
   * @param addresses in the order to try them, not empty
   * @param ttlSeconds the records' smallest TTL, or -1 when unknown (hosts file, the JDK resolver)
   */
  record Resolved(List<InetAddress> addresses, long ttlSeconds) {
    /** Copies the list and checks it is not empty. */
    public Resolved {
      addresses = List.copyOf(addresses);
      if (addresses.isEmpty()) {
        throw new IllegalArgumentException("no addresses");
      }
    }
  }
}
