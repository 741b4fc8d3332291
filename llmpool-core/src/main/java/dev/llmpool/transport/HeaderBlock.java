package dev.llmpool.transport;

import io.netty.handler.codec.EmptyHeaders;
import io.netty.handler.codec.http.HttpHeaderValidationUtil;
import io.netty.handler.codec.http2.DefaultHttp2HeadersDecoder;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.util.AsciiString;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * The fields of one HTTP/2 HEADERS block: names and values in one array, in order.
 *
 * <p>Responses: Netty's HPACK decoder collects each block into one of these. Its {@code
 * DefaultHttp2Headers} builds a hash table with a linked entry per field for every response (about
 * 0.4 KB a response, allocated on the event loop), although the connection reads each field once,
 * in order. This keeps what the decoder, {@code DefaultHttp2ConnectionDecoder} (status, content
 * length, trailer check) and {@link H2Connection} ask of it; the other {@link Http2Headers} methods
 * are those of an empty header set, which nothing on this path calls. Names are checked as {@code
 * DefaultHttp2Headers} checks them (a token, lower case, or a known pseudo-header); a bad one fails
 * the decode, which Netty turns into a connection error.
 *
 * <p>Requests: {@link H2Connection} refills one block per request ({@link #addTrusted}, names
 * already checked and lower-cased) and hands it to the HPACK encoder, which only iterates it; the
 * block is reused for the next request once the encoder is done with it.
 *
 * <p>{@link #iterator()} hands out the block's one cursor, which is also each entry it returns (as
 * Netty's {@code ReadOnlyHttp2Headers} does): an entry's key and value are read before the next
 * {@code next()}, and one iteration runs at a time (the encoder's size check and encoding run one
 * after the other). Confined to the connection's event loop.
 */
final class HeaderBlock extends EmptyHeaders<CharSequence, CharSequence, Http2Headers>
    implements Http2Headers {
  private static final AsciiString STATUS = PseudoHeaderName.STATUS.value();

  /** Names at even, values at odd indexes; {@code size} entries are in use. */
  private CharSequence[] fields;

  private int size;

  private @Nullable Cursor cursor;

  HeaderBlock(int expectedFields) {
    this.fields = new CharSequence[Math.max(4, Math.min(expectedFields, 64)) * 2];
  }

  /**
   * Netty's HPACK decoding with header validation and a limit of {@code maxHeaderListSize} bytes,
   * collecting each block into one of these.
   */
  static DefaultHttp2HeadersDecoder decoder(long maxHeaderListSize) {
    return new DefaultHttp2HeadersDecoder(true, maxHeaderListSize) {
      @Override
      protected Http2Headers newHeaders() {
        return new HeaderBlock(numberOfHeadersGuess());
      }
    };
  }

  /** {@code headers} itself when it is one of these (always, from the decoder), else a copy. */
  static HeaderBlock of(Http2Headers headers) {
    if (headers instanceof HeaderBlock mine) {
      return mine;
    }
    HeaderBlock copy = new HeaderBlock(headers.size());
    for (Map.Entry<CharSequence, CharSequence> e : headers) {
      copy.add(e.getKey(), e.getValue());
    }
    return copy;
  }

  /** The name of field {@code i} (0-based, in arrival order). */
  CharSequence name(int i) {
    return fields[2 * i];
  }

  /** The value of field {@code i}. */
  CharSequence value(int i) {
    return fields[2 * i + 1];
  }

  @Override
  public Http2Headers add(CharSequence name, CharSequence value) {
    checkName(name);
    return addTrusted(name, value);
  }

  /** Adds a field whose name is known to be valid HTTP/2 (lower case, a token or pseudo-header). */
  HeaderBlock addTrusted(CharSequence name, CharSequence value) {
    if (2 * size + 2 > fields.length) {
      fields = Arrays.copyOf(fields, fields.length * 2);
    }
    fields[2 * size] = name;
    fields[2 * size + 1] = value;
    size++;
    return this;
  }

  private static void checkName(CharSequence name) {
    if (name.length() == 0) {
      throw new IllegalArgumentException("empty header name");
    }
    if (name.charAt(0) == ':') {
      if (!PseudoHeaderName.isPseudoHeader(name)) {
        throw new IllegalArgumentException("invalid pseudo-header " + name);
      }
      return;
    }
    // RFC 9113 §8.2.1: a field name is a token, in lower case.
    if (HttpHeaderValidationUtil.validateToken(name) != -1) {
      throw new IllegalArgumentException("invalid header name");
    }
    for (int i = 0; i < name.length(); i++) {
      char c = name.charAt(i);
      if (c >= 'A' && c <= 'Z') {
        throw new IllegalArgumentException("header name with upper-case characters");
      }
    }
  }

  private int indexOf(CharSequence name, int from) {
    for (int i = from; i < size; i++) {
      if (AsciiString.contentEqualsIgnoreCase(fields[2 * i], name)) {
        return i;
      }
    }
    return -1;
  }

  @Override
  public @Nullable CharSequence get(CharSequence name) {
    int i = indexOf(name, 0);
    return i < 0 ? null : fields[2 * i + 1];
  }

  @Override
  public CharSequence get(CharSequence name, CharSequence defaultValue) {
    CharSequence v = get(name);
    return v == null ? defaultValue : v;
  }

  @Override
  public List<CharSequence> getAll(CharSequence name) {
    List<CharSequence> out = null;
    for (int i = indexOf(name, 0); i >= 0; i = indexOf(name, i + 1)) {
      if (out == null) {
        out = new ArrayList<>(2);
      }
      out.add(fields[2 * i + 1]);
    }
    return out == null ? List.of() : out;
  }

  @Override
  public boolean contains(CharSequence name) {
    return indexOf(name, 0) >= 0;
  }

  @Override
  public boolean contains(CharSequence name, CharSequence value) {
    return contains(name, value, false);
  }

  @Override
  public boolean contains(CharSequence name, CharSequence value, boolean caseInsensitive) {
    for (int i = indexOf(name, 0); i >= 0; i = indexOf(name, i + 1)) {
      CharSequence v = fields[2 * i + 1];
      if (caseInsensitive
          ? AsciiString.contentEqualsIgnoreCase(v, value)
          : AsciiString.contentEquals(v, value)) {
        return true;
      }
    }
    return false;
  }

  @Override
  public int size() {
    return size;
  }

  @Override
  public boolean isEmpty() {
    return size == 0;
  }

  @Override
  public Set<CharSequence> names() {
    Set<CharSequence> names = new LinkedHashSet<>();
    for (int i = 0; i < size; i++) {
      names.add(fields[2 * i]);
    }
    return names;
  }

  @Override
  public Http2Headers set(CharSequence name, CharSequence value) {
    remove(name);
    return add(name, value);
  }

  /**
   * Netty's decoder calls this with the parsed {@code content-length}; when the field already says
   * that number (the usual case) it stays as received rather than being formatted anew.
   */
  @Override
  public Http2Headers setLong(CharSequence name, long value) {
    int i = indexOf(name, 0);
    if (i >= 0 && indexOf(name, i + 1) < 0 && isNumber(fields[2 * i + 1], value)) {
      return this;
    }
    return set(name, Long.toString(value));
  }

  private static boolean isNumber(CharSequence text, long value) {
    return length(text) == value;
  }

  /**
   * A {@code content-length} value as a number, spaces and tabs around it allowed; -1 when it is
   * not one non-negative decimal that fits a long. Reads the characters in place: it runs for every
   * response.
   */
  static long length(CharSequence text) {
    int from = 0;
    int to = text.length();
    while (from < to && (text.charAt(from) == ' ' || text.charAt(from) == '\t')) {
      from++;
    }
    while (to > from && (text.charAt(to - 1) == ' ' || text.charAt(to - 1) == '\t')) {
      to--;
    }
    if (from == to || to - from > 18) { // 18 digits cannot overflow a long
      return -1;
    }
    long v = 0;
    for (int i = from; i < to; i++) {
      int d = text.charAt(i) - '0';
      if (d < 0 || d > 9) {
        return -1;
      }
      v = v * 10 + d;
    }
    return v;
  }

  @Override
  public boolean remove(CharSequence name) {
    int kept = 0;
    for (int i = 0; i < size; i++) {
      if (!AsciiString.contentEqualsIgnoreCase(fields[2 * i], name)) {
        fields[2 * kept] = fields[2 * i];
        fields[2 * kept + 1] = fields[2 * i + 1];
        kept++;
      }
    }
    boolean removed = kept != size;
    Arrays.fill(fields, 2 * kept, 2 * size, null);
    size = kept;
    return removed;
  }

  @Override
  public Http2Headers clear() {
    Arrays.fill(fields, 0, 2 * size, null);
    size = 0;
    return this;
  }

  @Override
  public Iterator<Map.Entry<CharSequence, CharSequence>> iterator() {
    Cursor c = cursor;
    if (c == null) {
      c = new Cursor();
      cursor = c;
    }
    c.next = 0;
    return c;
  }

  /** The block's iterator and, after each {@code next()}, the entry it returned (see above). */
  private final class Cursor
      implements Iterator<Map.Entry<CharSequence, CharSequence>>,
          Map.Entry<CharSequence, CharSequence> {
    /** The field {@code next()} returns; the current entry is the one before it. */
    int next;

    @Override
    public boolean hasNext() {
      return next < size;
    }

    @Override
    public Map.Entry<CharSequence, CharSequence> next() {
      if (next >= size) {
        throw new NoSuchElementException();
      }
      next++;
      return this;
    }

    @Override
    public CharSequence getKey() {
      return fields[2 * (next - 1)];
    }

    @Override
    public CharSequence getValue() {
      return fields[2 * (next - 1) + 1];
    }

    @Override
    public CharSequence setValue(CharSequence value) {
      throw new UnsupportedOperationException("read-only");
    }

    @Override
    public String toString() {
      return String.valueOf(getKey()); // the name only: values may carry secrets
    }
  }

  @Override
  public Iterator<CharSequence> valueIterator(CharSequence name) {
    return getAll(name).iterator();
  }

  @Override
  public Http2Headers method(CharSequence value) {
    return set(PseudoHeaderName.METHOD.value(), value);
  }

  @Override
  public Http2Headers scheme(CharSequence value) {
    return set(PseudoHeaderName.SCHEME.value(), value);
  }

  @Override
  public Http2Headers authority(CharSequence value) {
    return set(PseudoHeaderName.AUTHORITY.value(), value);
  }

  @Override
  public Http2Headers path(CharSequence value) {
    return set(PseudoHeaderName.PATH.value(), value);
  }

  @Override
  public Http2Headers status(CharSequence value) {
    return set(STATUS, value);
  }

  @Override
  public @Nullable CharSequence method() {
    return get(PseudoHeaderName.METHOD.value());
  }

  @Override
  public @Nullable CharSequence scheme() {
    return get(PseudoHeaderName.SCHEME.value());
  }

  @Override
  public @Nullable CharSequence authority() {
    return get(PseudoHeaderName.AUTHORITY.value());
  }

  @Override
  public @Nullable CharSequence path() {
    return get(PseudoHeaderName.PATH.value());
  }

  @Override
  public @Nullable CharSequence status() {
    return get(STATUS);
  }

  /** The field names only: values may carry cookies or other secrets. */
  @Override
  public String toString() {
    StringBuilder sb = new StringBuilder("HeaderBlock[");
    for (int i = 0; i < size; i++) {
      sb.append(i > 0 ? ", " : "").append(fields[2 * i]);
    }
    return sb.append(']').toString();
  }
}
