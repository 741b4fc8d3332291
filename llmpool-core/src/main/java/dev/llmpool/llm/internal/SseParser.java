package dev.llmpool.llm.internal;

import dev.llmpool.Origin;
import dev.llmpool.llm.SseLimitExceededException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.jspecify.annotations.Nullable;

/**
 * An incremental parser of {@code text/event-stream} by the WHATWG EventSource rules (HTML
 * standard, "Server-sent events", "Interpreting an event stream"), fed with byte chunks cut
 * anywhere.
 *
 * <ul>
 *   <li>Lines end with CRLF, LF or a lone CR; a CR that ends one chunk and an LF that starts the
 *       next are one line break.
 *   <li>A UTF-8 byte-order mark at the very start of the stream (even split across chunks) is
 *       skipped.
 *   <li>A line starting with {@code :} is a comment ({@code : keep-alive}); {@code field:value}
 *       drops one space after the colon; a line without a colon is a field with an empty value.
 *   <li>{@code data} lines are joined with LF; {@code event} sets the type (default {@code
 *       message}); {@code id} sets the last event id (ignored when it holds NUL; it persists across
 *       events); {@code retry} with only ASCII digits reports a reconnection time; other fields are
 *       ignored.
 *   <li>An empty line dispatches the event, unless no data line came (then the type is reset and
 *       nothing is dispatched).
 *   <li>At the end of the stream, an event not closed by an empty line is discarded; {@link
 *       #finish()} reports whether there was one, so a caller can tell a stream cut mid-event.
 * </ul>
 *
 * <p>The parser works on bytes: a chunk boundary inside a multi-byte UTF-8 character does not
 * matter, since data are decoded only once an event is whole. It is allocation-lean for the
 * per-token case: lines that lie whole in a chunk are read in place, the line and data buffers are
 * reused, event types are cached, and the handler gets one reused {@link SseEvent}. A line, or an
 * event's data, longer than {@code maxEventBytes} throws {@link SseLimitExceededException} rather
 * than growing without end (the check does not depend on how the stream was cut).
 *
 * <p>Not thread-safe: one parser per stream, fed by one thread at a time.
 */
public final class SseParser {
  /** The default bound on a line and on an event's data: 4 MiB. */
  public static final int DEFAULT_MAX_EVENT_BYTES = 4 << 20;

  /** Receives what the parser finds. */
  public interface Handler {
    /** An event was dispatched; {@code event} is valid only during this call. */
    void onEvent(SseEvent event);

    /** A {@code retry} field gave a reconnection time in milliseconds. Ignored by default. */
    default void onRetry(long millis) {}
  }

  private static final byte CR = '\r';
  private static final byte LF = '\n';
  private static final byte[] BOM = {(byte) 0xEF, (byte) 0xBB, (byte) 0xBF};
  private static final int TYPE_CACHE_SIZE = 8;

  private final Handler handler;
  private final int maxBytes;
  private final @Nullable Origin origin;
  private final SseEvent event = new SseEvent();

  private byte[] line = new byte[128];
  private int lineLength;
  private byte[] data = new byte[256];
  private int dataLength;
  private byte[] type = new byte[32];
  private int typeLength;
  private @Nullable String lastEventId;

  /** The previous chunk ended with CR: an LF starting this one belongs to that line break. */
  private boolean skipLf;

  /** How many BOM bytes have matched at the start of the stream. */
  private int bomMatched;

  /** The start of the stream is past: no BOM can come any more. */
  private boolean bomDone;

  private final byte[][] typeCacheKeys = new byte[TYPE_CACHE_SIZE][];
  private final String[] typeCacheValues = new String[TYPE_CACHE_SIZE];
  private int typeCacheNext;
  private byte @Nullable [] scratch;

  /**
   * @param handler receives events, on the feeding thread
   * @param maxEventBytes the bound on a line and on an event's data
   * @param origin named in the limit exception, if known
   */
  public SseParser(Handler handler, int maxEventBytes, @Nullable Origin origin) {
    if (maxEventBytes < 16) {
      throw new IllegalArgumentException("maxEventBytes must be at least 16, got " + maxEventBytes);
    }
    this.handler = handler;
    this.maxBytes = maxEventBytes;
    this.origin = origin;
  }

  /** A parser with the default bound. */
  public SseParser(Handler handler) {
    this(handler, DEFAULT_MAX_EVENT_BYTES, null);
  }

  /** Feeds the buffer's remaining bytes and moves its position to its limit. */
  public void feed(ByteBuffer chunk) {
    if (chunk.hasArray()) {
      int n = chunk.remaining();
      feed(chunk.array(), chunk.arrayOffset() + chunk.position(), n);
      chunk.position(chunk.position() + n);
      return;
    }
    byte[] buf = scratch;
    if (buf == null) {
      buf = new byte[8192];
      scratch = buf;
    }
    while (chunk.hasRemaining()) {
      int n = Math.min(buf.length, chunk.remaining());
      chunk.get(buf, 0, n);
      feed(buf, 0, n);
    }
  }

  /**
   * Feeds {@code length} bytes of {@code bytes} from {@code offset}; events complete in them are
   * dispatched before this returns.
   *
   * @throws SseLimitExceededException when a line or an event's data exceeds the bound
   */
  public void feed(byte[] bytes, int offset, int length) {
    int end = offset + length;
    if (offset < 0 || length < 0 || end > bytes.length) {
      throw new IndexOutOfBoundsException("offset " + offset + ", length " + length);
    }
    int i = offset;
    if (!bomDone) {
      while (i < end && bomMatched < BOM.length) {
        if (bytes[i] != BOM[bomMatched]) {
          // Not a BOM after all: the bytes that matched so far are content.
          bomDone = true;
          int matched = bomMatched;
          bomMatched = 0;
          if (matched > 0) {
            lines(BOM, 0, matched);
          }
          break;
        }
        bomMatched++;
        i++;
      }
      if (bomMatched == BOM.length) {
        bomDone = true;
        bomMatched = 0;
      }
    }
    if (i < end) {
      lines(bytes, i, end);
    }
  }

  /**
   * Ends the stream: a pending event that no empty line closed is discarded, as the rules say.
   *
   * @return true when such an incomplete event (or line) was pending, i.e. the stream was cut
   *     inside an event
   */
  public boolean finish() {
    boolean incomplete =
        lineLength > 0 || dataLength > 0 || typeLength > 0 || (!bomDone && bomMatched > 0);
    lineLength = 0;
    dataLength = 0;
    typeLength = 0;
    return incomplete;
  }

  private void lines(byte[] b, int from, int end) {
    int i = from;
    if (skipLf) {
      skipLf = false;
      if (b[i] == LF) {
        i++;
      }
    }
    while (i < end) {
      int j = i;
      while (j < end) {
        byte c = b[j];
        if (c == LF || c == CR) {
          break;
        }
        j++;
      }
      if (j == end) {
        appendLine(b, i, end - i);
        return;
      }
      if (lineLength == 0) {
        if (j - i > maxBytes) {
          throw new SseLimitExceededException(origin, maxBytes);
        }
        line(b, i, j);
      } else {
        appendLine(b, i, j - i);
        line(line, 0, lineLength);
        lineLength = 0;
      }
      if (b[j] == CR) {
        if (j + 1 < end) {
          if (b[j + 1] == LF) {
            j++;
          }
        } else {
          skipLf = true;
        }
      }
      i = j + 1;
    }
  }

  private void appendLine(byte[] b, int from, int n) {
    if (n == 0) {
      return;
    }
    int needed = lineLength + n;
    if (needed > maxBytes) {
      throw new SseLimitExceededException(origin, maxBytes);
    }
    if (needed > line.length) {
      line = Arrays.copyOf(line, grow(line.length, needed));
    }
    System.arraycopy(b, from, line, lineLength, n);
    lineLength = needed;
  }

  private int grow(int current, int needed) {
    long size = Math.max((long) current * 2, needed);
    return (int) Math.min(size, maxBytes + 1L);
  }

  /** One line, without its terminator. */
  private void line(byte[] b, int start, int end) {
    if (start == end) {
      dispatch();
      return;
    }
    if (b[start] == ':') {
      return;
    }
    int colon = start;
    while (colon < end && b[colon] != ':') {
      colon++;
    }
    int fieldLength = colon - start;
    int valueStart;
    if (colon == end) {
      valueStart = end;
    } else {
      valueStart = colon + 1;
      if (valueStart < end && b[valueStart] == ' ') {
        valueStart++;
      }
    }
    int valueLength = end - valueStart;
    if (is(b, start, fieldLength, 'd', 'a', 't', 'a')) {
      int needed = dataLength + valueLength + 1;
      if (needed > maxBytes + 1) {
        throw new SseLimitExceededException(origin, maxBytes);
      }
      if (needed > data.length) {
        data = Arrays.copyOf(data, grow(data.length, needed));
      }
      System.arraycopy(b, valueStart, data, dataLength, valueLength);
      dataLength += valueLength;
      data[dataLength++] = LF;
    } else if (is(b, start, fieldLength, 'e', 'v', 'e', 'n', 't')) {
      if (valueLength > type.length) {
        type = Arrays.copyOf(type, valueLength);
      }
      System.arraycopy(b, valueStart, type, 0, valueLength);
      typeLength = valueLength;
    } else if (is(b, start, fieldLength, 'i', 'd')) {
      for (int k = valueStart; k < end; k++) {
        if (b[k] == 0) {
          return;
        }
      }
      lastEventId = new String(b, valueStart, valueLength, StandardCharsets.UTF_8);
    } else if (is(b, start, fieldLength, 'r', 'e', 't', 'r', 'y')) {
      retry(b, valueStart, end);
    }
  }

  private void retry(byte[] b, int start, int end) {
    if (start == end) {
      return;
    }
    long millis = 0;
    for (int k = start; k < end; k++) {
      byte c = b[k];
      if (c < '0' || c > '9') {
        return;
      }
      if (millis > (Long.MAX_VALUE - 9) / 10) {
        return;
      }
      millis = millis * 10 + (c - '0');
    }
    handler.onRetry(millis);
  }

  private static boolean is(byte[] b, int start, int length, char... name) {
    if (length != name.length) {
      return false;
    }
    for (int k = 0; k < length; k++) {
      if (b[start + k] != name[k]) {
        return false;
      }
    }
    return true;
  }

  private void dispatch() {
    if (dataLength == 0) {
      typeLength = 0;
      return;
    }
    int length = dataLength - 1; // the last LF is not data
    event.reset(typeName(), data, length, lastEventId);
    dataLength = 0;
    typeLength = 0;
    handler.onEvent(event);
  }

  /** The type as a String, from a small cache so that a stream's repeated types cost nothing. */
  private String typeName() {
    if (typeLength == 0) {
      return "message";
    }
    for (int k = 0; k < TYPE_CACHE_SIZE; k++) {
      byte[] key = typeCacheKeys[k];
      if (key != null && Arrays.equals(key, 0, key.length, type, 0, typeLength)) {
        return typeCacheValues[k];
      }
    }
    byte[] key = Arrays.copyOf(type, typeLength);
    String value = new String(key, StandardCharsets.UTF_8);
    typeCacheKeys[typeCacheNext] = key;
    typeCacheValues[typeCacheNext] = value;
    typeCacheNext = (typeCacheNext + 1) % TYPE_CACHE_SIZE;
    return value;
  }
}
