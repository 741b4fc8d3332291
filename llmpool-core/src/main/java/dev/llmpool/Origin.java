package dev.llmpool;

import java.net.URI;
import java.util.Locale;

/**
 * Where connections go: scheme, host and port. The pool keeps one sub-pool per origin and applies
 * {@code maxConnectionsPerHost} to each. An origin never carries user-info, a path or a query, so
 * it is safe to print in messages, logs and metric labels.
 *
 * @param scheme {@code "http"} or {@code "https"}, lower case
 * @param host a host name or IP literal, lower case, without brackets for IPv6
 * @param port 1 to 65535
 */
public record Origin(String scheme, String host, int port) {

  /** Checks and normalises the parts (lower-case scheme and host, IPv6 brackets dropped). */
  public Origin {
    scheme = scheme.toLowerCase(Locale.ROOT);
    if (!scheme.equals("http") && !scheme.equals("https")) {
      throw new IllegalArgumentException(
          "origin scheme must be http or https, got '" + scheme + "'");
    }
    if (host.startsWith("[") && host.endsWith("]")) {
      host = host.substring(1, host.length() - 1);
    }
    if (host.isEmpty()) {
      throw new IllegalArgumentException("origin host is empty");
    }
    host = host.toLowerCase(Locale.ROOT);
    if (port < 1 || port > 65535) {
      throw new IllegalArgumentException("origin port must be 1..65535, got " + port);
    }
  }

  /**
   * The origin of an absolute http(s) URL; the default port fills in a missing one. Anything else
   * (a relative URL, another scheme, no host) is refused with a message that does not echo
   * user-info.
   */
  public static Origin of(URI uri) {
    String scheme = uri.getScheme();
    String host = uri.getHost();
    if (scheme == null || host == null) {
      throw new IllegalArgumentException(
          "not an absolute http(s) URL with a host: scheme="
              + scheme
              + ", host="
              + host
              + (uri.getRawAuthority() == null ? ", no authority" : ""));
    }
    String s = scheme.toLowerCase(Locale.ROOT);
    int port = uri.getPort();
    if (port == -1) {
      port = s.equals("https") ? 443 : 80;
    }
    return new Origin(s, host, port);
  }

  /** Parses an absolute http(s) URL and returns its origin. */
  public static Origin of(String url) {
    return of(URI.create(url));
  }

  /** True for https. */
  public boolean isTls() {
    return scheme.equals("https");
  }

  /** The host as it goes in a URL or a {@code Host} header (IPv6 in brackets). */
  public String hostForUrl() {
    return host.indexOf(':') >= 0 ? "[" + host + "]" : host;
  }

  /** {@code scheme://host:port}, with IPv6 hosts in brackets. */
  @Override
  public String toString() {
    return scheme + "://" + hostForUrl() + ":" + port;
  }
}
