package dev.llmpool.micrometer;

import dev.llmpool.CallCancelledException;
import dev.llmpool.ConnectFailedException;
import dev.llmpool.ConnectTimeoutException;
import dev.llmpool.ConnectionLostException;
import dev.llmpool.DnsException;
import dev.llmpool.HttpProtocolException;
import dev.llmpool.LlmPoolException;
import dev.llmpool.PoolClosedException;
import dev.llmpool.PoolFullException;
import dev.llmpool.PoolTimeoutException;
import dev.llmpool.ReadTimeoutException;
import dev.llmpool.ResponseTooLargeException;
import dev.llmpool.TlsException;
import dev.llmpool.TotalTimeoutException;
import dev.llmpool.WriteTimeoutException;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * Attribute names and the low-cardinality values llmpool puts in them: every value comes from a
 * fixed set or from the pool's configuration (origins), never from a request.
 */
final class Attributes {
  private Attributes() {}

  // OpenTelemetry semantic-convention attribute names.
  static final String SERVER_ADDRESS = "server.address";
  static final String SERVER_PORT = "server.port";
  static final String PROTOCOL_VERSION = "network.protocol.version";
  static final String CONNECTION_STATE = "http.connection.state";
  static final String METHOD = "http.request.method";
  static final String STATUS = "http.response.status_code";
  static final String ERROR_TYPE = "error.type";

  // llmpool's own.
  static final String CLOSE_REASON = "llmpool.close.reason";
  static final String REUSED = "llmpool.connection.reused";

  /** OpenTelemetry's value for anything outside a known set. */
  static final String OTHER = "_OTHER";

  /** An absent attribute: every meter of a name carries the same keys, so absent is empty. */
  static final String NONE = "";

  private static final Set<String> METHODS =
      Set.of("GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH");

  /** The method as-is when it is a known HTTP method, else {@code _OTHER}. */
  static String method(String method) {
    return METHODS.contains(method) ? method : OTHER;
  }

  /** {@code "1.1"} or {@code "2"}, from llmpool's {@code "HTTP/1.1"} / {@code "HTTP/2"}. */
  static String protocolVersion(@Nullable String protocol) {
    if (protocol == null) {
      return NONE;
    }
    return switch (protocol) {
      case "HTTP/1.1" -> "1.1";
      case "HTTP/2" -> "2";
      case "HTTP/1.0" -> "1.0";
      default -> OTHER;
    };
  }

  /** "100" to "599", made once: a status is turned into a tag value on every call. */
  private static final String[] STATUSES = new String[600];

  static {
    for (int i = 100; i < STATUSES.length; i++) {
      STATUSES[i] = Integer.toString(i);
    }
  }

  /** The status code as digits, or empty when no response arrived. */
  static String status(int status) {
    if (status == 0) {
      return NONE;
    }
    return status >= 100 && status <= 599 ? STATUSES[status] : OTHER;
  }

  /**
   * {@code error.type} of an HTTP call: the failure's kind, from a fixed list; or the status code
   * when the call got an error status (4xx, 5xx); empty for a success.
   */
  static String errorType(int status, @Nullable LlmPoolException failure) {
    if (failure != null) {
      return errorType(failure);
    }
    if (status >= 400) {
      return status(status);
    }
    return NONE;
  }

  /** The kind of an llmpool failure; see the documented list in {@code docs/observability.md}. */
  static String errorType(LlmPoolException e) {
    if (e instanceof PoolTimeoutException) {
      return "pool_timeout";
    }
    if (e instanceof PoolFullException) {
      return "pool_full";
    }
    if (e instanceof PoolClosedException) {
      return "pool_closed";
    }
    if (e instanceof CallCancelledException) {
      return "cancelled";
    }
    if (e instanceof DnsException) {
      return "dns";
    }
    if (e instanceof ConnectTimeoutException) {
      return "connect_timeout";
    }
    if (e instanceof ConnectFailedException) {
      return "connect_failed";
    }
    if (e instanceof TlsException) {
      return "tls";
    }
    if (e instanceof WriteTimeoutException) {
      return "write_timeout";
    }
    if (e instanceof ReadTimeoutException) {
      return "read_timeout";
    }
    if (e instanceof TotalTimeoutException) {
      return "total_timeout";
    }
    if (e instanceof ResponseTooLargeException) {
      return "response_too_large";
    }
    if (e instanceof HttpProtocolException) {
      return "protocol_error";
    }
    if (e instanceof ConnectionLostException) {
      return "connection_lost";
    }
    return OTHER;
  }
}
