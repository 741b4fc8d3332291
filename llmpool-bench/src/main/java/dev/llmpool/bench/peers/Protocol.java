package dev.llmpool.bench.peers;

import java.util.Locale;

/** The three ways the harness talks to nginx. */
public enum Protocol {
  /** HTTP/1.1 over plain TCP. */
  H1("h1", "HTTP/1.1"),
  /** HTTP/2 over TLS 1.3, negotiated with ALPN. */
  H2("h2", "h2 over TLS"),
  /** HTTP/2 over plain TCP with prior knowledge (no Upgrade). */
  H2C("h2c", "h2c");

  private final String key;
  private final String label;

  Protocol(String key, String label) {
    this.key = key;
    this.label = label;
  }

  /** Short name used on the command line, in tags and in result files. */
  public String key() {
    return key;
  }

  /** Name used in tables. */
  public String label() {
    return label;
  }

  /** Parses {@link #key()}. */
  public static Protocol of(String key) {
    for (Protocol p : values()) {
      if (p.key.equals(key.trim().toLowerCase(Locale.ROOT))) {
        return p;
      }
    }
    throw new IllegalArgumentException("unknown protocol '" + key + "' (expected h1, h2 or h2c)");
  }
}
