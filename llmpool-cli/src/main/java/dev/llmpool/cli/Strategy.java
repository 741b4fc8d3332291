package dev.llmpool.cli;

/** The four ways the demo makes the same calls. */
enum Strategy {
  /** A fresh {@code LlmPool} (so a fresh connection) for every call: the mistake. */
  NEW_CONNECTION_PER_CALL("new-connection-per-call", "a new client, so a new connection, per call"),
  /** One pool, HTTP/1.1 keep-alive: one connection per call in flight. */
  POOLED_HTTP1("pooled-http1", "one shared pool, HTTP/1.1 keep-alive"),
  /** One pool, HTTP/2: calls multiplexed as streams on one connection. */
  POOLED_HTTP2("pooled-http2", "one shared pool, HTTP/2 multiplexing"),
  /** As {@link #POOLED_HTTP2}, with the connection opened before the first call. */
  POOLED_HTTP2_PREWARMED(
      "pooled-http2-prewarmed", "one shared pool, HTTP/2, connection opened at start-up");

  final String label;
  final String description;

  Strategy(String label, String description) {
    this.label = label;
    this.description = description;
  }

  boolean pooled() {
    return this != NEW_CONNECTION_PER_CALL;
  }

  boolean http2() {
    return this != POOLED_HTTP1;
  }
}
