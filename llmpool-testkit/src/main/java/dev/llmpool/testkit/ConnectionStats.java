package dev.llmpool.testkit;

import org.jspecify.annotations.Nullable;

/**
 * What happened on one connection to the mock server, at the moment of the snapshot.
 *
 * @param id the connection's id, as in {@link RecordedRequest#connectionId()}
 * @param protocol the protocol, or null while a TLS handshake or the preface is pending (or the
 *     connection closed before either finished)
 * @param tls whether the connection is TLS
 * @param open whether it is still open
 * @param requests requests read on it (as recorded in {@link MockLlmServer#requests()})
 * @param peakConcurrentStreams the most exchanges in flight on it at once (1 for HTTP/1.1)
 * @param bytesIn bytes read from the socket (TLS records included)
 * @param bytesOut bytes written to the socket (TLS records included)
 */
public record ConnectionStats(
    long id,
    @Nullable Protocol protocol,
    boolean tls,
    boolean open,
    int requests,
    int peakConcurrentStreams,
    long bytesIn,
    long bytesOut) {}
