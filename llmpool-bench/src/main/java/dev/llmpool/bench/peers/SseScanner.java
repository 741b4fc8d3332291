package dev.llmpool.bench.peers;

import java.nio.ByteBuffer;

/**
 * Counts the {@code data:} events of one SSE body as its bytes arrive, whatever the chunking: a
 * token is counted when the first byte of its payload is seen; {@code data: [DONE]} ends the
 * stream. It reads the buffer without moving its position. Confined to one stream.
 */
final class SseScanner {
  private static final byte[] DATA = {'d', 'a', 't', 'a', ':'};

  /** Bytes of {@code data:} matched at the start of the current line; -1 skips to its end. */
  private int matched;

  /** True right after {@code data:}, until the first non-space byte of the payload. */
  private boolean payloadStart;

  private int tokens;
  private boolean done;

  /** Reads {@code chunk}; returns how many token events started in it. */
  int feed(ByteBuffer chunk) {
    int before = tokens;
    for (int i = chunk.position(); i < chunk.limit(); i++) {
      byte c = chunk.get(i);
      if (c == '\n') {
        matched = 0;
        payloadStart = false;
      } else if (payloadStart) {
        if (c != ' ') {
          payloadStart = false;
          matched = -1;
          if (c == '[') {
            done = true;
          } else {
            tokens++;
          }
        }
      } else if (matched >= 0) {
        if (c == DATA[matched]) {
          matched++;
          if (matched == DATA.length) {
            payloadStart = true;
            matched = -1;
          }
        } else {
          matched = -1;
        }
      }
    }
    return tokens - before;
  }

  int tokens() {
    return tokens;
  }

  boolean done() {
    return done;
  }
}
