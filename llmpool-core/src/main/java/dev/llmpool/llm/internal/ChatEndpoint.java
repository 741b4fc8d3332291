package dev.llmpool.llm.internal;

import dev.llmpool.Origin;
import dev.llmpool.llm.OpenAiAuth;
import java.net.URI;
import java.net.URISyntaxException;
import java.util.AbstractMap;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * Where and how a chat client sends its requests: the API's URL (the base URL plus the API's path,
 * the base URL's query kept, e.g. Azure's {@code api-version}), the codec, and the fixed headers
 * (credentials, {@code anthropic-version}). Immutable.
 */
public final class ChatEndpoint {
  /** The Anthropic API version llmpool speaks. */
  public static final String ANTHROPIC_VERSION = "2023-06-01";

  private final ProviderCodec codec;
  private final URI uri;
  private final Origin origin;
  private final List<Map.Entry<String, String>> headers;
  private final Redactor redactor;

  private ChatEndpoint(
      ProviderCodec codec, URI uri, List<Map.Entry<String, String>> headers, List<String> secrets) {
    this.codec = codec;
    this.uri = uri;
    this.origin = Origin.of(uri);
    this.headers = List.copyOf(headers);
    this.redactor = Redactor.of(secrets).withHeaders(this.headers);
  }

  /**
   * OpenAI-compatible chat completions at {@code baseUrl + "/chat/completions"}, e.g. {@code
   * https://api.openai.com/v1}, {@code http://localhost:11434/v1} (Ollama), {@code
   * http://localhost:8000/v1} (vLLM), {@code
   * https://res.openai.azure.com/openai/deployments/gpt-4o?api-version=2024-10-21} (Azure).
   *
   * @param apiKey the key, or null for a server that needs none (a local Ollama)
   * @param streamUsage whether streams ask for usage with {@code stream_options.include_usage}
   */
  public static ChatEndpoint openAi(
      String baseUrl, @Nullable String apiKey, OpenAiAuth auth, boolean streamUsage) {
    URI uri = resolve(baseUrl, "/chat/completions", null);
    String host = Objects.requireNonNull(uri.getHost()).toLowerCase(Locale.ROOT);
    boolean azure =
        host.endsWith(".openai.azure.com")
            || host.endsWith(".cognitiveservices.azure.com")
            || host.endsWith(".services.ai.azure.com");
    List<Map.Entry<String, String>> headers = new ArrayList<>();
    List<String> secrets = new ArrayList<>();
    if (apiKey != null && !apiKey.isEmpty()) {
      checkKey(apiKey);
      boolean apiKeyHeader =
          auth == OpenAiAuth.API_KEY_HEADER || (auth == OpenAiAuth.AUTO && azure);
      headers.add(
          apiKeyHeader ? header("api-key", apiKey) : header("authorization", "Bearer " + apiKey));
      secrets.add(apiKey);
    }
    // Azure api-versions before 2024-09-01 refuse stream_options with a 400.
    boolean usage = streamUsage && !(azure && olderThanStreamOptions(uri.getRawQuery()));
    // OpenAI's own API wants max_completion_tokens (its reasoning models refuse max_tokens); every
    // compatible server understands max_tokens.
    String maxTokens =
        host.equals("api.openai.com") ? OpenAiCodec.MAX_COMPLETION_TOKENS : OpenAiCodec.MAX_TOKENS;
    return new ChatEndpoint(new OpenAiCodec(maxTokens, usage), uri, headers, secrets);
  }

  /**
   * Anthropic messages at {@code baseUrl + "/v1/messages"} (or {@code + "/messages"} when the base
   * URL already ends with {@code /v1}), e.g. {@code https://api.anthropic.com}.
   *
   * @param apiKey the key, sent as {@code x-api-key}
   */
  public static ChatEndpoint anthropic(String baseUrl, @Nullable String apiKey) {
    URI uri = resolve(baseUrl, "/v1/messages", "/messages");
    List<Map.Entry<String, String>> headers = new ArrayList<>();
    List<String> secrets = new ArrayList<>();
    if (apiKey != null && !apiKey.isEmpty()) {
      checkKey(apiKey);
      headers.add(header("x-api-key", apiKey));
      secrets.add(apiKey);
    }
    headers.add(header("anthropic-version", ANTHROPIC_VERSION));
    return new ChatEndpoint(new AnthropicCodec(), uri, headers, secrets);
  }

  /** True when the query names an {@code api-version} dated before 2024-09-01. */
  static boolean olderThanStreamOptions(@Nullable String query) {
    if (query == null) {
      return false;
    }
    for (String part : query.split("&", -1)) {
      if (part.startsWith("api-version=")) {
        String v = part.substring("api-version=".length());
        return v.length() >= 10 && v.substring(0, 10).compareTo("2024-09-01") < 0;
      }
    }
    return false;
  }

  /** An endpoint with a given codec and URL, for tests and custom APIs. */
  public static ChatEndpoint of(
      ProviderCodec codec, URI uri, List<Map.Entry<String, String>> headers, List<String> secrets) {
    return new ChatEndpoint(codec, uri, headers, secrets);
  }

  private static void checkKey(String key) {
    for (int i = 0; i < key.length(); i++) {
      char c = key.charAt(i);
      // The rule of HTTP field values (RFC 9110 §5.5): no control character but HTAB, nothing past
      // ISO-8859-1. The message gives the index only: never the key.
      if ((c < 0x20 && c != '\t') || c == 0x7f || c > 0xff) {
        throw new IllegalArgumentException(
            "the API key holds a control or non-Latin-1 character at index " + i);
      }
    }
  }

  static Map.Entry<String, String> header(String name, String value) {
    return new AbstractMap.SimpleImmutableEntry<>(name, value);
  }

  /**
   * The base URL's path plus {@code path} (or {@code pathAfterV1} when the base path already ends
   * with {@code /v1}), its query kept. Messages never echo the URL (user-info or a query may hold a
   * secret).
   */
  static URI resolve(String baseUrl, String path, @Nullable String pathAfterV1) {
    URI base;
    try {
      base = new URI(baseUrl.trim());
    } catch (URISyntaxException e) {
      throw new IllegalArgumentException(
          "base URL is not a valid URL (" + e.getReason() + " at index " + e.getIndex() + ")");
    }
    String scheme = base.getScheme();
    if (scheme == null
        || !(scheme.equalsIgnoreCase("http") || scheme.equalsIgnoreCase("https"))
        || base.getHost() == null) {
      throw new IllegalArgumentException(
          "base URL must be an absolute http or https URL with a host");
    }
    if (base.getRawFragment() != null) {
      throw new IllegalArgumentException("base URL must not have a fragment");
    }
    String basePath = base.getRawPath() == null ? "" : base.getRawPath();
    while (basePath.endsWith("/")) {
      basePath = basePath.substring(0, basePath.length() - 1);
    }
    String suffix = pathAfterV1 != null && basePath.endsWith("/v1") ? pathAfterV1 : path;
    StringBuilder sb = new StringBuilder();
    sb.append(scheme.toLowerCase(Locale.ROOT)).append("://").append(base.getRawAuthority());
    sb.append(basePath).append(suffix);
    if (base.getRawQuery() != null) {
      sb.append('?').append(base.getRawQuery());
    }
    return URI.create(sb.toString());
  }

  /** The codec. */
  public ProviderCodec codec() {
    return codec;
  }

  /** The request URL (do not print: it may hold a query with a key). */
  public URI uri() {
    return uri;
  }

  /** The server. */
  public Origin origin() {
    return origin;
  }

  /** Fixed request headers, credentials included (do not print values). */
  public List<Map.Entry<String, String>> headers() {
    return headers;
  }

  /** Cuts this endpoint's credentials out of server text. */
  public Redactor redactor() {
    return redactor;
  }

  /** Provider, origin and path: no query, no header value. */
  @Override
  public String toString() {
    return codec.name() + " " + origin + uri.getRawPath();
  }
}
