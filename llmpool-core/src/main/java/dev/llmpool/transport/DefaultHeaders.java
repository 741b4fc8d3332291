package dev.llmpool.transport;

import io.netty.util.AsciiString;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;

/**
 * The headers sent with every request (User-Agent, authorization, the user's defaults), encoded
 * once when the pool is built: as one block of HTTP/1.1 bytes, and as lower-case HTTP/2 names and
 * values. A request header with the same name replaces the default for that request.
 *
 * <p>Immutable; shared by every connection of a pool.
 */
final class DefaultHeaders {
  private final String[] names;
  private final String[] values;
  private final byte[] h1Block;
  private final AsciiString[] h2Names;
  private final AsciiString[] h2Values;

  DefaultHeaders(List<String> namesAndValues) {
    int n = namesAndValues.size() / 2;
    if (n > 63) {
      throw new IllegalArgumentException("at most 63 default headers, got " + n);
    }
    names = new String[n];
    values = new String[n];
    h2Names = new AsciiString[n];
    h2Values = new AsciiString[n];
    ByteArrayOutputStream block = new ByteArrayOutputStream();
    for (int i = 0; i < n; i++) {
      names[i] = namesAndValues.get(2 * i);
      values[i] = namesAndValues.get(2 * i + 1);
      h2Names[i] = AsciiString.of(names[i].toLowerCase(Locale.ROOT));
      h2Values[i] = new AsciiString(values[i].getBytes(StandardCharsets.ISO_8859_1), false);
      block.writeBytes(h1Line(names[i], values[i]));
    }
    h1Block = block.toByteArray();
  }

  private static byte[] h1Line(String name, String value) {
    return (name + ": " + value + "\r\n").getBytes(StandardCharsets.ISO_8859_1);
  }

  int size() {
    return names.length;
  }

  /**
   * A bit set of the defaults that {@code ex}'s own headers replace (bit i for default i); 0, the
   * common case, lets the encoders write the pre-encoded block.
   */
  long overriddenBy(Exchange ex) {
    int n = names.length;
    if (n == 0) {
      return 0;
    }
    long mask = 0;
    int count = ex.headerCount();
    for (int h = 0; h < count; h++) {
      String name = ex.headerName(h);
      for (int i = 0; i < n; i++) {
        if (names[i].equalsIgnoreCase(name)) {
          mask |= 1L << i;
        }
      }
    }
    return mask;
  }

  byte[] h1Block() {
    return h1Block;
  }

  String name(int i) {
    return names[i];
  }

  String value(int i) {
    return values[i];
  }

  AsciiString h2Name(int i) {
    return h2Names[i];
  }

  AsciiString h2Value(int i) {
    return h2Values[i];
  }
}
