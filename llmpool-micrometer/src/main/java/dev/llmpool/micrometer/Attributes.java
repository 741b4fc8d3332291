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
import dev.llmpool.llm.ApiStatusException;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ConcurrentHashMap;
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

  // OpenTelemetry GenAI attribute names. gen_ai.system is the name before semantic conventions
  // 1.37 (now gen_ai.provider.name); both are set, to the same value, for either kind of dashboard.
  static final String GEN_AI_OPERATION = "gen_ai.operation.name";
  static final String GEN_AI_PROVIDER = "gen_ai.provider.name";
  static final String GEN_AI_SYSTEM = "gen_ai.system";
  static final String GEN_AI_REQUEST_MODEL = "gen_ai.request.model";
  static final String GEN_AI_RESPONSE_MODEL = "gen_ai.response.model";
  static final String GEN_AI_TOKEN_TYPE = "gen_ai.token.type";

  // llmpool's own.
  static final String RATE_LIMIT_WINDOW = "llmpool.rate_limit.window";
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

  private static final Set<String> PROVIDERS = Set.of("openai", "anthropic");

  private static final Set<String> OPERATIONS =
      Set.of("chat", "text_completion", "embeddings", "generate_content");

  /** {@code gen_ai.provider.name}: {@code openai} or {@code anthropic}, else {@code _OTHER}. */
  static String provider(String provider) {
    return PROVIDERS.contains(provider) ? provider : OTHER;
  }

  /**
   * {@code gen_ai.operation.name}: one of OpenTelemetry's well-known values, else {@code _OTHER}.
   */
  static String operation(String operation) {
    return OPERATIONS.contains(operation) ? operation : OTHER;
  }

  /**
   * {@code error.type} of a chat call: the status code of an error response (as for HTTP calls),
   * the kind of an llmpool failure, {@code cancelled}, else {@code _OTHER}; empty on success.
   */
  static String chatErrorType(@Nullable Throwable error) {
    if (error == null) {
      return NONE;
    }
    if (error instanceof ApiStatusException api) {
      return status(api.status());
    }
    if (error instanceof LlmPoolException e) {
      return errorType(e);
    }
    if (error instanceof CancellationException) {
      return "cancelled";
    }
    return OTHER;
  }

  /**
   * Model names as tag values, at most {@code max} distinct ones: the first {@code max} names seen
   * keep their own value, later ones and anything that does not look like a model name (longer than
   * {@value #MAX_MODEL_LENGTH} characters, or with a character outside letters, digits and {@code .
   * _ - : / @ +}) are {@code _OTHER}. Model names come from the application and the server, not
   * from prompts, but a server could send anything: the cap keeps a misbehaving one from growing
   * the registry. Thread-safe.
   */
  static final class ModelNames {
    static final int MAX_MODEL_LENGTH = 100;

    private final int max;
    private final Set<String> seen = ConcurrentHashMap.newKeySet();

    ModelNames(int max) {
      this.max = max;
    }

    /** The tag value for {@code model}: itself, {@code _OTHER}, or empty when null. */
    String of(@Nullable String model) {
      if (model == null) {
        return NONE;
      }
      if (seen.contains(model)) {
        return model;
      }
      if (!plausible(model)) {
        return OTHER;
      }
      synchronized (this) {
        if (seen.contains(model)) {
          return model;
        }
        if (seen.size() >= max) {
          return OTHER;
        }
        seen.add(model);
        return model;
      }
    }

    private static boolean plausible(String s) {
      if (s.isEmpty() || s.length() > MAX_MODEL_LENGTH) {
        return false;
      }
      for (int i = 0; i < s.length(); i++) {
        char c = s.charAt(i);
        boolean ok =
            (c >= 'a' && c <= 'z')
                || (c >= 'A' && c <= 'Z')
                || (c >= '0' && c <= '9')
                || c == '.'
                || c == '_'
                || c == '-'
                || c == ':'
                || c == '/'
                || c == '@'
                || c == '+';
        if (!ok) {
          return false;
        }
      }
      return true;
    }
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
