package dev.llmpool;

import java.util.Locale;

/** The phase of a call in which a failure happened; every {@link LlmPoolException} names one. */
public enum Phase {
  /** Resolving the host name. */
  DNS,
  /** Opening the TCP connection. */
  CONNECT,
  /** The TLS handshake, certificate checks included. */
  TLS,
  /** Waiting for a connection from the pool. */
  POOL,
  /** Sending the request. */
  WRITE,
  /** Receiving the response. */
  READ,
  /** The call as a whole, retries included, overran {@code timeouts.total}. */
  TOTAL,
  /** The server answered with an error status. */
  HTTP_STATUS,
  /** The peer broke the protocol (malformed response, bad frame). */
  PROTOCOL;

  /** Lower-case name, as it appears in messages and metrics. */
  public String label() {
    return name().toLowerCase(Locale.ROOT);
  }
}
