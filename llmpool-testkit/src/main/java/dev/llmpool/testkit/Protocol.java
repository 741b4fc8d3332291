package dev.llmpool.testkit;

/** The protocol of a connection to the mock server. */
public enum Protocol {
  /** HTTP/1.1, over cleartext or TLS (ALPN {@code http/1.1} or none). */
  HTTP_1_1,
  /** HTTP/2 over cleartext, with prior knowledge (the client starts with the HTTP/2 preface). */
  H2C,
  /** HTTP/2 over TLS, chosen by ALPN. */
  H2
}
