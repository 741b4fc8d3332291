package dev.llmpool.testkit;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A snapshot of the mock server's counters. Each counter is read atomically; the snapshot as a
 * whole is not one instant (the server keeps running), which the counters a test asserts on after
 * its client finished do not notice.
 *
 * @param connectionsAccepted TCP connections accepted since start
 * @param connectionsOpen connections open now
 * @param tlsHandshakesCompleted TLS handshakes that succeeded
 * @param requestsServed requests read and acted on (answered, failed on purpose, or rejected): the
 *     size of {@link MockLlmServer#requests()}
 * @param peakConcurrentStreams the most exchanges in flight at once over all connections (an HTTP/2
 *     stream or an HTTP/1.1 exchange each count one)
 * @param bytesIn bytes read from sockets (TLS records included)
 * @param bytesOut bytes written to sockets (TLS records included)
 * @param connections every connection, oldest first (closed ones too, up to the request log limit)
 */
public record MockServerStats(
    long connectionsAccepted,
    int connectionsOpen,
    long tlsHandshakesCompleted,
    long requestsServed,
    int peakConcurrentStreams,
    long bytesIn,
    long bytesOut,
    List<ConnectionStats> connections) {

  /** The compact canonical constructor copies the list. */
  public MockServerStats {
    connections = List.copyOf(connections);
  }

  /** Requests read per connection id, in connection order. */
  public Map<Long, Integer> requestsPerConnection() {
    Map<Long, Integer> m = new LinkedHashMap<>();
    for (ConnectionStats c : connections) {
      m.put(c.id(), c.requests());
    }
    return m;
  }

  /** The stats of one connection. */
  public Optional<ConnectionStats> connection(long id) {
    return connections.stream().filter(c -> c.id() == id).findFirst();
  }
}
