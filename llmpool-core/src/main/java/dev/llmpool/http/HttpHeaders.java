package dev.llmpool.http;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * An immutable list of HTTP header fields, in order, with case-insensitive lookup by name. Response
 * headers keep the names as the server sent them (lower case for HTTP/2); request headers built
 * here are stored lower case.
 *
 * <p>{@link #toString()} masks the values of headers that carry credentials ({@code Authorization},
 * {@code x-api-key}, cookies, ...), so printing headers never leaks a secret.
 */
public final class HttpHeaders {
  private static final HttpHeaders EMPTY = new HttpHeaders(new String[0]);

  /** Header names whose values {@link #toString()} never prints. */
  private static final Set<String> SENSITIVE =
      Set.of(
          "authorization",
          "proxy-authorization",
          "x-api-key",
          "api-key",
          "cookie",
          "set-cookie",
          "x-goog-api-key",
          "openai-organization");

  static {
    // Lets the engine (dev.llmpool.http.internal) reach what must not be public.
    AccessBridge.install();
  }

  private final String[] namesAndValues;

  private HttpHeaders(String[] namesAndValues) {
    this.namesAndValues = namesAndValues;
  }

  /** Wraps an array the caller hands over (trusted: already validated, never modified). */
  static HttpHeaders wrapTrusted(String[] namesAndValues) {
    return namesAndValues.length == 0 ? EMPTY : new HttpHeaders(namesAndValues);
  }

  /** No headers. */
  public static HttpHeaders empty() {
    return EMPTY;
  }

  /**
   * Headers from names and values alternating: {@code of("accept", "text/event-stream")}.
   *
   * @throws IllegalArgumentException for an odd count, a name that is not an HTTP token, or a value
   *     with a control character (CR, LF, NUL, 0x01–0x1F but HTAB, DEL)
   */
  public static HttpHeaders of(String... namesAndValues) {
    if (namesAndValues.length % 2 != 0) {
      throw new IllegalArgumentException("names and values must alternate (odd count)");
    }
    Builder b = builder();
    for (int i = 0; i < namesAndValues.length; i += 2) {
      b.add(namesAndValues[i], namesAndValues[i + 1]);
    }
    return b.build();
  }

  /** A builder of headers. */
  public static Builder builder() {
    return new Builder();
  }

  /** A builder holding these headers. */
  public Builder toBuilder() {
    Builder b = new Builder();
    b.list.addAll(Arrays.asList(namesAndValues));
    return b;
  }

  /** How many fields. */
  public int size() {
    return namesAndValues.length / 2;
  }

  /** True when there is no field. */
  public boolean isEmpty() {
    return namesAndValues.length == 0;
  }

  /** The name of field {@code i} (0-based). */
  public String name(int i) {
    return namesAndValues[2 * i];
  }

  /** The value of field {@code i} (0-based). */
  public String value(int i) {
    return namesAndValues[2 * i + 1];
  }

  /** The first value of {@code name} (case-insensitive), or null. */
  public @Nullable String get(String name) {
    for (int i = 0; i < namesAndValues.length; i += 2) {
      if (namesAndValues[i].equalsIgnoreCase(name)) {
        return namesAndValues[i + 1];
      }
    }
    return null;
  }

  /** Every value of {@code name} (case-insensitive), in order; empty when absent. */
  public List<String> values(String name) {
    List<String> out = null;
    for (int i = 0; i < namesAndValues.length; i += 2) {
      if (namesAndValues[i].equalsIgnoreCase(name)) {
        if (out == null) {
          out = new ArrayList<>(2);
        }
        out.add(namesAndValues[i + 1]);
      }
    }
    return out == null ? List.of() : Collections.unmodifiableList(out);
  }

  /** True when a field named {@code name} (case-insensitive) is present. */
  public boolean contains(String name) {
    return get(name) != null;
  }

  /** The fields as a map from lower-case name to values, in first-seen order. */
  public Map<String, List<String>> toMap() {
    Map<String, List<String>> m = new LinkedHashMap<>();
    for (int i = 0; i < namesAndValues.length; i += 2) {
      m.computeIfAbsent(namesAndValues[i].toLowerCase(Locale.ROOT), k -> new ArrayList<>())
          .add(namesAndValues[i + 1]);
    }
    m.replaceAll((k, v) -> List.copyOf(v));
    return Collections.unmodifiableMap(m);
  }

  /** True when {@code name} (any case) is a header that carries credentials. */
  public static boolean isSensitive(String name) {
    return SENSITIVE.contains(name.toLowerCase(Locale.ROOT));
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof HttpHeaders h && Arrays.equals(namesAndValues, h.namesAndValues);
  }

  @Override
  public int hashCode() {
    return Arrays.hashCode(namesAndValues);
  }

  /** {@code {name: value, ...}} with credential values masked as {@code ██}. */
  @Override
  public String toString() {
    StringBuilder sb = new StringBuilder("{");
    for (int i = 0; i < namesAndValues.length; i += 2) {
      if (i > 0) {
        sb.append(", ");
      }
      String name = namesAndValues[i];
      sb.append(name).append(": ").append(isSensitive(name) ? "██" : namesAndValues[i + 1]);
    }
    return sb.append('}').toString();
  }

  /** Checks a field name: a non-empty HTTP token (RFC 9110 §5.1). */
  static String checkName(String name) {
    Objects.requireNonNull(name, "header name");
    if (name.isEmpty()) {
      throw new IllegalArgumentException("header name is empty");
    }
    for (int i = 0; i < name.length(); i++) {
      char c = name.charAt(i);
      if (!isTokenChar(c)) {
        throw new IllegalArgumentException(
            "header name '" + name + "' has an illegal character at index " + i);
      }
    }
    return name;
  }

  /**
   * Checks a field value (RFC 9110 §5.5): visible characters, SP, HTAB and obs-text; no control
   * character (CR, LF, NUL, 0x01–0x1F but HTAB, DEL), every character in ISO-8859-1.
   */
  static String checkValue(String name, String value) {
    Objects.requireNonNull(value, "header value");
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      if (!isValueChar(c)) {
        // Never echo the value: it may be a credential.
        throw new IllegalArgumentException(
            "value of header '" + name + "' has an illegal character at index " + i);
      }
    }
    return value;
  }

  /** A character allowed in a field value: HTAB, SP, visible ASCII or obs-text (0x80–0xFF). */
  static boolean isValueChar(char c) {
    return c == '\t' || (c >= 0x20 && c != 0x7f && c <= 0xff);
  }

  private static boolean isTokenChar(char c) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
      return true;
    }
    return "!#$%&'*+-.^_`|~".indexOf(c) >= 0;
  }

  /** Builds {@link HttpHeaders}; names are stored lower case. Not thread-safe. */
  public static final class Builder {
    private final List<String> list = new ArrayList<>();

    private Builder() {}

    /** Adds a field (keeps existing ones of the same name). */
    public Builder add(String name, String value) {
      checkName(name);
      checkValue(name, value);
      list.add(name.toLowerCase(Locale.ROOT));
      list.add(value);
      return this;
    }

    /** Replaces every field named {@code name} with this one. */
    public Builder set(String name, String value) {
      remove(name);
      return add(name, value);
    }

    /** Removes every field named {@code name}. */
    public Builder remove(String name) {
      for (int i = list.size() - 2; i >= 0; i -= 2) {
        if (list.get(i).equalsIgnoreCase(name)) {
          list.remove(i + 1);
          list.remove(i);
        }
      }
      return this;
    }

    /** The headers. */
    public HttpHeaders build() {
      return wrapTrusted(list.toArray(new String[0]));
    }
  }
}
