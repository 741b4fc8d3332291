package dev.llmpool.transport;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Locale;

/**
 * Parses HTTP/1.1 responses (RFC 9112) from the bytes of one connection, one response at a time:
 * the status line, the header fields, then the body framed by Content-Length, chunked transfer
 * coding or the end of the connection. Informational (1xx) responses are skipped. Body bytes are
 * handed out as retained slices of the received buffers: no copy, no intermediate message objects.
 *
 * <p>Strictness: a malformed status line, header field, chunk size or conflicting Content-Length is
 * an {@link H1ProtocolException}, and the connection is not reused. Bare LF line endings and
 * obsolete line folding are accepted (RFC 9112 §2.2, §5.2 allow a recipient to).
 *
 * <p>Not thread-safe: owned by one connection's event loop.
 */
final class H1ResponseParser {

  /** Where the parser delivers what it parsed. */
  interface Sink {
    /** The final response head. */
    void onHead(Head head) throws H1ProtocolException;

    /** A piece of body; ownership passes to the sink. */
    void onBody(ByteBuf slice);
  }

  /** A parsed response head; the parser reuses nothing of it after delivery. */
  static final class Head {
    private final int status;
    private final String[] headers;
    private final boolean keepAlive;
    private final long keepAliveTimeoutSeconds;
    private final long contentLength;
    private final boolean mustClose;

    Head(
        int status,
        String[] headers,
        boolean keepAlive,
        long keepAliveTimeoutSeconds,
        long contentLength,
        boolean mustClose) {
      this.status = status;
      this.headers = headers;
      this.keepAlive = keepAlive;
      this.keepAliveTimeoutSeconds = keepAliveTimeoutSeconds;
      this.contentLength = contentLength;
      this.mustClose = mustClose;
    }

    int status() {
      return status;
    }

    /** Names and values alternating, as received. */
    String[] headers() {
      return headers;
    }

    boolean keepAlive() {
      return keepAlive;
    }

    /** The server's {@code Keep-Alive: timeout}, or -1. */
    long keepAliveTimeoutSeconds() {
      return keepAliveTimeoutSeconds;
    }

    /** Content-Length, or -1 (chunked, until close, or absent). */
    long contentLength() {
      return contentLength;
    }

    /** The connection must not carry another exchange after this response. */
    boolean mustClose() {
      return mustClose;
    }
  }

  private enum State {
    STATUS,
    HEADERS,
    FIXED,
    CHUNK_SIZE,
    CHUNK_DATA,
    CHUNK_END,
    TRAILERS,
    UNTIL_CLOSE,
    DONE
  }

  private static final int MAX_CHUNK_LINE = 4096;

  private final Sink sink;
  private final int maxHeadBytes;

  /** Holds a line split across reads; heap, reused. */
  private final ByteBuf line = Unpooled.buffer(256);

  private State state = State.DONE;
  private boolean headRequest;
  private int headBytes;
  private int status;
  private int minorVersion;
  private String[] headers = new String[32];

  /** The header line being parsed, copied out of the received buffer; reused. */
  private byte[] scratch = new byte[256];

  private int headerSize;
  private long remaining;
  private int trailerBytes;

  // The line found by readLine: source buffer, start and length (without CR LF).
  private ByteBuf lineSrc = line;
  private int lineStart;
  private int lineLen;

  H1ResponseParser(Sink sink, int maxHeadBytes) {
    this.sink = sink;
    this.maxHeadBytes = maxHeadBytes;
  }

  /** Prepares for the response to a new request. */
  void reset(boolean headRequest) {
    this.headRequest = headRequest;
    state = State.STATUS;
    line.clear();
    startHead();
  }

  private void startHead() {
    headBytes = 0;
    headerSize = 0;
    status = 0;
    remaining = 0;
    trailerBytes = 0;
  }

  /** True while a response is being parsed (started and not complete). */
  boolean inProgress() {
    return state != State.DONE;
  }

  /** True once the body is being read up to the end of the connection. */
  boolean readsUntilClose() {
    return state == State.UNTIL_CLOSE;
  }

  /** Bytes of body still expected with a Content-Length, else -1. */
  long remainingFixed() {
    return state == State.FIXED ? remaining : -1;
  }

  /** Frees the line buffer. */
  void release() {
    line.release();
  }

  /**
   * Consumes bytes of {@code in} until the response is complete or {@code in} is exhausted. Returns
   * true when the response is complete; bytes after it stay unread in {@code in}.
   */
  boolean feed(ByteBuf in) throws H1ProtocolException {
    while (true) {
      switch (state) {
        case STATUS -> {
          if (!readLine(in, maxHeadBytes)) {
            return false;
          }
          countHead();
          if (lineLen == 0 && headBytes == 2) {
            // Tolerate stray empty lines before a status line (RFC 9112 §2.2).
            headBytes = 0;
            line.clear();
            continue;
          }
          parseStatusLine();
          line.clear();
          state = State.HEADERS;
        }
        case HEADERS -> {
          if (!readLine(in, maxHeadBytes)) {
            return false;
          }
          countHead();
          if (lineLen == 0) {
            line.clear();
            if (endOfHead()) {
              return true;
            }
          } else {
            parseHeaderLine();
            line.clear();
          }
        }
        case FIXED -> {
          int n = (int) Math.min(remaining, in.readableBytes());
          if (n == 0) {
            return false;
          }
          remaining -= n;
          sink.onBody(in.readRetainedSlice(n));
          if (remaining == 0) {
            state = State.DONE;
            return true;
          }
        }
        case CHUNK_SIZE -> {
          if (!readLine(in, MAX_CHUNK_LINE)) {
            return false;
          }
          long size = parseChunkSize();
          line.clear();
          if (size == 0) {
            state = State.TRAILERS;
          } else {
            remaining = size;
            state = State.CHUNK_DATA;
          }
        }
        case CHUNK_DATA -> {
          int n = (int) Math.min(remaining, in.readableBytes());
          if (n == 0) {
            return false;
          }
          remaining -= n;
          sink.onBody(in.readRetainedSlice(n));
          if (remaining == 0) {
            state = State.CHUNK_END;
          }
        }
        case CHUNK_END -> {
          if (!readLine(in, MAX_CHUNK_LINE)) {
            return false;
          }
          if (lineLen != 0) {
            throw new H1ProtocolException("chunk data not followed by CRLF");
          }
          line.clear();
          state = State.CHUNK_SIZE;
        }
        case TRAILERS -> {
          if (!readLine(in, maxHeadBytes)) {
            return false;
          }
          trailerBytes += lineLen + 2;
          if (trailerBytes > maxHeadBytes) {
            throw new H1ProtocolException("trailer section larger than " + maxHeadBytes + " bytes");
          }
          boolean end = lineLen == 0;
          line.clear();
          if (end) {
            state = State.DONE;
            return true;
          }
        }
        case UNTIL_CLOSE -> {
          int n = in.readableBytes();
          if (n > 0) {
            sink.onBody(in.readRetainedSlice(n));
          }
          return false;
        }
        case DONE -> {
          return true;
        }
      }
    }
  }

  /**
   * The connection ended. Returns true when that completes the response (a body delimited by the
   * end of the connection); false when the response is incomplete.
   */
  boolean eof() {
    if (state == State.UNTIL_CLOSE) {
      state = State.DONE;
      return true;
    }
    return state == State.DONE;
  }

  private void countHead() throws H1ProtocolException {
    headBytes += lineLen + 2;
    if (headBytes > maxHeadBytes) {
      throw new H1ProtocolException("response head larger than " + maxHeadBytes + " bytes");
    }
  }

  /** Finds the next line; false (after buffering the partial line) when none is complete. */
  private boolean readLine(ByteBuf in, int limit) throws H1ProtocolException {
    int r = in.readerIndex();
    int w = in.writerIndex();
    int lf = in.indexOf(r, w, (byte) '\n');
    if (lf < 0) {
      if (line.readableBytes() + (w - r) > limit) {
        throw new H1ProtocolException("line longer than " + limit + " bytes");
      }
      line.writeBytes(in);
      return false;
    }
    if (line.isReadable()) {
      if (line.readableBytes() + (lf - r) > limit) {
        throw new H1ProtocolException("line longer than " + limit + " bytes");
      }
      line.writeBytes(in, r, lf - r);
      lineSrc = line;
      lineStart = line.readerIndex();
      lineLen = line.readableBytes();
    } else {
      if (lf - r > limit) {
        throw new H1ProtocolException("line longer than " + limit + " bytes");
      }
      lineSrc = in;
      lineStart = r;
      lineLen = lf - r;
    }
    in.readerIndex(lf + 1);
    if (lineLen > 0 && lineSrc.getByte(lineStart + lineLen - 1) == '\r') {
      lineLen--;
    }
    return true;
  }

  private void parseStatusLine() throws H1ProtocolException {
    // HTTP-version SP status-code SP [reason-phrase]
    ByteBuf b = lineSrc;
    int s = lineStart;
    if (lineLen < 12
        || b.getByte(s) != 'H'
        || b.getByte(s + 1) != 'T'
        || b.getByte(s + 2) != 'T'
        || b.getByte(s + 3) != 'P'
        || b.getByte(s + 4) != '/'
        || b.getByte(s + 5) != '1'
        || b.getByte(s + 6) != '.'
        || b.getByte(s + 8) != ' ') {
      throw new H1ProtocolException("malformed status line: " + printable(b, s, lineLen));
    }
    int minor = b.getByte(s + 7) - '0';
    if (minor < 0 || minor > 9) {
      throw new H1ProtocolException("malformed status line: " + printable(b, s, lineLen));
    }
    int code = 0;
    for (int i = 9; i < 12; i++) {
      int d = b.getByte(s + i) - '0';
      if (d < 0 || d > 9) {
        throw new H1ProtocolException("malformed status code: " + printable(b, s, lineLen));
      }
      code = code * 10 + d;
    }
    if (lineLen > 12 && b.getByte(s + 12) != ' ') {
      throw new H1ProtocolException("malformed status line: " + printable(b, s, lineLen));
    }
    if (code < 100) {
      throw new H1ProtocolException("status code " + code + " out of range");
    }
    minorVersion = minor;
    status = code;
  }

  private void parseHeaderLine() throws H1ProtocolException {
    ByteBuf b = lineSrc;
    int s = lineStart;
    int len = lineLen;
    // One copy of the line into a reused array: the scans below then cost no bounds and
    // reference-count check per byte, as ByteBuf.getByte does.
    byte[] a = scratch;
    if (a.length < len) {
      a = new byte[Math.max(len, a.length * 2)];
      scratch = a;
    }
    b.getBytes(s, a, 0, len);
    byte first = a[0];
    if (first == ' ' || first == '\t') {
      // Obsolete line folding: the line continues the previous field value.
      if (headerSize == 0) {
        throw new H1ProtocolException("header continuation line without a field");
      }
      String more = trimmed(a, 0, len, -1);
      String prev = headers[headerSize - 1];
      headers[headerSize - 1] = more.isEmpty() ? prev : prev + " " + more;
      return;
    }
    int colon = -1;
    for (int i = 0; i < len; i++) {
      byte c = a[i];
      if (c == ':') {
        colon = i;
        break;
      }
      if (!isTokenChar(c)) {
        throw new H1ProtocolException("malformed header field name: " + nameOnly(b, s, s + len));
      }
    }
    if (colon <= 0) {
      throw new H1ProtocolException("malformed header field: " + nameOnly(b, s, s + len));
    }
    String name = text(a, 0, colon, headerSize);
    String value = trimmed(a, colon + 1, len, headerSize + 1);
    if (headerSize + 2 > headers.length) {
      headers = Arrays.copyOf(headers, headers.length * 2);
    }
    headers[headerSize++] = name;
    headers[headerSize++] = value;
  }

  /**
   * The field text at {@code a[from, from + len)}. A server sends nearly the same head every time,
   * so the previous response's string in the same {@code slot} of {@link #headers} is reused when
   * its characters are these bytes: a response head then costs no new strings (the values that
   * change, like Date, still get new ones). {@code slot} -1: always a new string.
   */
  private String text(byte[] a, int from, int len, int slot) {
    if (slot >= 0 && slot < headers.length) {
      String prev = headers[slot];
      if (prev != null && sameText(prev, a, from, len)) {
        return prev;
      }
    }
    return new String(a, from, len, StandardCharsets.ISO_8859_1);
  }

  /** Whether {@code s} is the ISO-8859-1 decoding of {@code a[from, from + len)}. */
  private static boolean sameText(String s, byte[] a, int from, int len) {
    if (s.length() != len) {
      return false;
    }
    for (int i = 0; i < len; i++) {
      if (s.charAt(i) != (char) (a[from + i] & 0xff)) {
        return false;
      }
    }
    return true;
  }

  private String trimmed(byte[] a, int from, int to, int slot) throws H1ProtocolException {
    while (from < to && isOws(a[from])) {
      from++;
    }
    while (to > from && isOws(a[to - 1])) {
      to--;
    }
    for (int i = from; i < to; i++) {
      byte c = a[i];
      if (c == 0 || c == '\r' || c == '\n') {
        throw new H1ProtocolException("control character in a header value");
      }
    }
    return text(a, from, to - from, slot);
  }

  /** Handles the end of a head; returns true when the response is complete (no body). */
  private boolean endOfHead() throws H1ProtocolException {
    if (status < 200) {
      if (status == 101) {
        throw new H1ProtocolException("unexpected 101 Switching Protocols");
      }
      // Informational: 100 Continue, 103 Early Hints. The final response follows.
      state = State.STATUS;
      startHead();
      return false;
    }
    boolean close = false;
    boolean keepAliveToken = false;
    long keepAliveTimeout = -1;
    long contentLength = -1;
    boolean hasTransferEncoding = false;
    boolean chunked = false;
    for (int i = 0; i < headerSize; i += 2) {
      String n = headers[i];
      String v = headers[i + 1];
      switch (n.length()) {
        case 10 -> {
          if (n.equalsIgnoreCase("connection")) {
            // The usual single token needs no split.
            if (v.equalsIgnoreCase("keep-alive")) {
              keepAliveToken = true;
              continue;
            }
            if (v.equalsIgnoreCase("close")) {
              close = true;
              continue;
            }
            for (String token : v.split(",", -1)) {
              String t = token.trim();
              if (t.equalsIgnoreCase("close")) {
                close = true;
              } else if (t.equalsIgnoreCase("keep-alive")) {
                keepAliveToken = true;
              }
            }
          } else if (n.equalsIgnoreCase("keep-alive")) {
            keepAliveTimeout = parseKeepAliveTimeout(v);
          }
        }
        case 14 -> {
          if (n.equalsIgnoreCase("content-length")) {
            long cl = parseContentLength(v);
            if (contentLength >= 0 && cl != contentLength) {
              throw new H1ProtocolException(
                  "conflicting Content-Length values " + contentLength + " and " + cl);
            }
            contentLength = cl;
          }
        }
        case 17 -> {
          if (n.equalsIgnoreCase("transfer-encoding")) {
            hasTransferEncoding = true;
            String lastCoding = v;
            int comma = v.lastIndexOf(',');
            if (comma >= 0) {
              lastCoding = v.substring(comma + 1);
            }
            chunked = lastCoding.trim().equalsIgnoreCase("chunked");
          }
        }
        default -> {}
      }
    }
    boolean keepAlive = minorVersion >= 1 ? !close : keepAliveToken && !close;
    boolean mustClose = !keepAlive;
    String[] out = Arrays.copyOf(headers, headerSize);

    boolean noBody = headRequest || status == 204 || status == 304;
    if (noBody) {
      state = State.DONE;
      sink.onHead(new Head(status, out, keepAlive, keepAliveTimeout, 0, mustClose));
      return true;
    }
    if (hasTransferEncoding) {
      if (contentLength >= 0 || minorVersion == 0) {
        // RFC 9112 §6.1: a possible smuggling attempt; do not reuse the connection.
        mustClose = true;
      }
      contentLength = -1;
      if (chunked) {
        state = State.CHUNK_SIZE;
      } else {
        mustClose = true;
        state = State.UNTIL_CLOSE;
      }
    } else if (contentLength >= 0) {
      remaining = contentLength;
      state = contentLength == 0 ? State.DONE : State.FIXED;
    } else {
      mustClose = true;
      state = State.UNTIL_CLOSE;
    }
    sink.onHead(new Head(status, out, keepAlive, keepAliveTimeout, contentLength, mustClose));
    return state == State.DONE;
  }

  private static long parseContentLength(String v) throws H1ProtocolException {
    // A list of identical values ("42, 42") is allowed (RFC 9110 §8.6). Parsed in place: the
    // common single value costs no substrings.
    long result = -1;
    int from = 0;
    while (true) {
      int comma = v.indexOf(',', from);
      int to = comma < 0 ? v.length() : comma;
      int a = from;
      int z = to;
      while (a < z && isOws(v.charAt(a))) {
        a++;
      }
      while (z > a && isOws(v.charAt(z - 1))) {
        z--;
      }
      if (a == z || z - a > 18) {
        throw new H1ProtocolException("malformed Content-Length '" + v + "'");
      }
      long n = 0;
      for (int i = a; i < z; i++) {
        char c = v.charAt(i);
        if (c < '0' || c > '9') {
          throw new H1ProtocolException("malformed Content-Length '" + v + "'");
        }
        n = n * 10 + (c - '0');
      }
      if (result >= 0 && result != n) {
        throw new H1ProtocolException("conflicting Content-Length '" + v + "'");
      }
      result = n;
      if (comma < 0) {
        return result;
      }
      from = comma + 1;
    }
  }

  private static boolean isOws(char c) {
    return c == ' ' || c == '\t';
  }

  /** {@code Keep-Alive: timeout=5, max=100} gives 5; -1 when absent or unreadable. */
  static long parseKeepAliveTimeout(String v) {
    for (String part : v.split(",", -1)) {
      String p = part.trim().toLowerCase(Locale.ROOT);
      if (p.startsWith("timeout")) {
        int eq = p.indexOf('=');
        if (eq < 0) {
          continue;
        }
        String num = p.substring(eq + 1).trim();
        try {
          long t = Long.parseLong(num);
          return t >= 0 ? t : -1;
        } catch (NumberFormatException e) {
          return -1;
        }
      }
    }
    return -1;
  }

  private long parseChunkSize() throws H1ProtocolException {
    ByteBuf b = lineSrc;
    int s = lineStart;
    int end = s + lineLen;
    long size = 0;
    int digits = 0;
    int i = s;
    for (; i < end; i++) {
      byte c = b.getByte(i);
      int d = Character.digit(c, 16);
      if (d < 0) {
        break;
      }
      if (++digits > 15) {
        throw new H1ProtocolException("chunk size too large");
      }
      size = size * 16 + d;
    }
    if (digits == 0) {
      throw new H1ProtocolException("malformed chunk size: " + printable(b, s, lineLen));
    }
    // Anything after the digits must be whitespace or a chunk extension.
    for (; i < end; i++) {
      byte c = b.getByte(i);
      if (c == ';') {
        break;
      }
      if (!isOws(c)) {
        throw new H1ProtocolException("malformed chunk size: " + printable(b, s, lineLen));
      }
    }
    return size;
  }

  private static boolean isOws(byte c) {
    return c == ' ' || c == '\t';
  }

  private static boolean isTokenChar(byte c) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
      return true;
    }
    return switch (c) {
      case '!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~' -> true;
      default -> false;
    };
  }

  /**
   * The start of a bad header line, up to its colon and at most 24 bytes: a header value might be a
   * credential (a cookie, a token echoed by a proxy) and must not reach an exception message.
   */
  private static String nameOnly(ByteBuf b, int start, int end) {
    int n = 0;
    while (start + n < end && n < 24 && b.getByte(start + n) != ':') {
      n++;
    }
    return printable(b, start, n);
  }

  /** At most 64 bytes of the offending line, with non-printable bytes escaped. */
  private static String printable(ByteBuf b, int start, int len) {
    StringBuilder sb = new StringBuilder();
    int n = Math.min(len, 64);
    for (int i = 0; i < n; i++) {
      int c = b.getByte(start + i) & 0xff;
      if (c >= 0x20 && c < 0x7f) {
        sb.append((char) c);
      } else {
        sb.append(String.format(Locale.ROOT, "\\x%02x", c));
      }
    }
    if (len > n) {
      sb.append("...");
    }
    return "'" + sb + "'";
  }
}
