package dev.llmpool.llm.internal;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Cuts credentials out of text that came from a server (error messages, bodies) before it goes into
 * an exception: a misconfigured proxy, or a server that echoes the request, must not leak the key
 * into a log. Immutable and thread-safe.
 */
public final class Redactor {
  /** Redacts nothing. */
  public static final Redactor NONE = new Redactor(List.of());

  /** Shorter values are too likely to occur by chance to be cut out everywhere. */
  static final int MIN_SECRET_LENGTH = 4;

  private static final String MARK = "[redacted]";

  private final List<String> secrets;

  private Redactor(List<String> secrets) {
    List<String> s = new ArrayList<>();
    for (String v : secrets) {
      if (v.length() >= MIN_SECRET_LENGTH && !s.contains(v)) {
        s.add(v);
      }
    }
    // Longest first, so that a secret containing another is cut whole.
    s.sort(Comparator.comparingInt(String::length).reversed());
    this.secrets = List.copyOf(s);
  }

  /** A redactor for these secret values. */
  public static Redactor of(List<String> secrets) {
    return secrets.isEmpty() ? NONE : new Redactor(secrets);
  }

  /** This redactor plus the credential-like values among {@code headers}. */
  public Redactor withHeaders(Iterable<Map.Entry<String, String>> headers) {
    List<String> more = new ArrayList<>(secrets);
    boolean added = false;
    for (Map.Entry<String, String> h : headers) {
      if (isCredentialHeader(h.getKey())) {
        more.add(h.getValue());
        String bare = stripScheme(h.getValue());
        if (!bare.equals(h.getValue())) {
          more.add(bare);
        }
        added = true;
      }
    }
    return added ? new Redactor(more) : this;
  }

  /** True for header names that carry credentials. */
  public static boolean isCredentialHeader(String name) {
    String n = name.toLowerCase(Locale.ROOT);
    return n.equals("authorization")
        || n.equals("proxy-authorization")
        || n.equals("cookie")
        || n.contains("key")
        || n.contains("token")
        || n.contains("secret")
        || n.contains("auth");
  }

  /** {@code Bearer sk-...} to {@code sk-...}: servers echo the bare key. */
  static String stripScheme(String value) {
    int space = value.indexOf(' ');
    return space > 0 && space < value.length() - 1 ? value.substring(space + 1).trim() : value;
  }

  /** {@code text} with every secret replaced by {@code [redacted]}. */
  public String redact(String text) {
    String out = text;
    for (String s : secrets) {
      if (out.contains(s)) {
        out = out.replace(s, MARK);
      }
    }
    return out;
  }

  @Override
  public String toString() {
    return "Redactor[" + secrets.size() + " secrets]";
  }
}
