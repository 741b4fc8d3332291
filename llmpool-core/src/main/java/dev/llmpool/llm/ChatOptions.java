package dev.llmpool.llm;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.llmpool.llm.internal.ChatOptionsAccess;
import dev.llmpool.llm.internal.Json;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * What to ask the model for: model, sampling, limits, tools and any provider field the typed model
 * lacks. Immutable; build with {@link #builder()}, vary with {@link #toBuilder()}. Every field is
 * optional: an unset field is not sent, so the server's default applies (except Anthropic's
 * required {@code max_tokens}, which defaults to {@value #ANTHROPIC_DEFAULT_MAX_TOKENS} there).
 *
 * <p>A chat client has default options (at least the model); the options given to a call are laid
 * over them with {@link #merge(ChatOptions)}: every field the call sets wins, the rest come from
 * the defaults.
 *
 * <table>
 *   <caption>How each field reaches the providers</caption>
 *   <tr><th>field</th><th>OpenAI-compatible</th><th>Anthropic</th></tr>
 *   <tr><td>model</td><td>{@code model}</td><td>{@code model}</td></tr>
 *   <tr><td>temperature</td><td>{@code temperature}</td><td>{@code temperature}</td></tr>
 *   <tr><td>maxTokens</td><td>{@code max_completion_tokens} on api.openai.com, {@code max_tokens}
 *       elsewhere (vLLM, Ollama, LiteLLM, Azure)</td><td>{@code max_tokens}</td></tr>
 *   <tr><td>systemPrompt</td><td>a first {@code system} message</td><td>{@code system}</td></tr>
 *   <tr><td>stopSequences</td><td>{@code stop}</td><td>{@code stop_sequences}</td></tr>
 *   <tr><td>toolsJson</td><td>{@code tools}, verbatim</td><td>{@code tools}; entries in OpenAI's
 *       {@code {"type":"function","function":{...}}} shape are converted to {@code {name,
 *       description, input_schema}}, others pass verbatim</td></tr>
 *   <tr><td>responseFormatJson</td><td>{@code response_format}, verbatim</td><td>{@code
 *       output_config.format}; OpenAI's {@code {"type":"json_schema","json_schema":{"schema":
 *       ...}}} is converted to {@code {"type":"json_schema","schema":...}}</td></tr>
 *   <tr><td>extraJson</td><td colspan="2">each field is added to the request body's top level
 *       and wins over a field llmpool would write (the escape hatch: {@code top_p}, {@code seed},
 *       {@code tool_choice}, {@code thinking}, {@code metadata}...)</td></tr>
 *   <tr><td>headers</td><td colspan="2">extra request headers (e.g. {@code anthropic-beta});
 *       never logged nor put in a message</td></tr>
 * </table>
 */
public final class ChatOptions {
  /** The {@code max_tokens} sent to Anthropic, which requires it, when none is set. */
  public static final int ANTHROPIC_DEFAULT_MAX_TOKENS = 4096;

  /** Options with nothing set. */
  public static final ChatOptions EMPTY = builder().build();

  static {
    ChatOptionsAccess.set(
        new ChatOptionsAccess.Accessor() {
          @Override
          public @Nullable ArrayNode tools(ChatOptions o) {
            return o.tools;
          }

          @Override
          public @Nullable ObjectNode responseFormat(ChatOptions o) {
            return o.responseFormat;
          }

          @Override
          public @Nullable ObjectNode extra(ChatOptions o) {
            return o.extra;
          }
        });
  }

  private final @Nullable String model;
  private final @Nullable Double temperature;
  private final @Nullable Integer maxTokens;
  private final @Nullable String systemPrompt;
  private final @Nullable List<String> stopSequences;
  private final @Nullable String toolsJson;
  private final @Nullable String responseFormatJson;
  private final @Nullable String extraJson;
  private final Map<String, String> headers;

  // Parsed once in build(); never mutated afterwards, never handed to users.
  private final @Nullable ArrayNode tools;
  private final @Nullable ObjectNode responseFormat;
  private final @Nullable ObjectNode extra;

  private ChatOptions(Builder b, @Nullable ArrayNode tools, @Nullable ObjectNode responseFormat) {
    this.model = b.model;
    this.temperature = b.temperature;
    this.maxTokens = b.maxTokens;
    this.systemPrompt = b.systemPrompt;
    this.stopSequences = b.stopSequences == null ? null : List.copyOf(b.stopSequences);
    this.tools = tools;
    this.toolsJson = tools == null ? null : b.toolsJson;
    this.responseFormat = responseFormat;
    this.responseFormatJson = responseFormat == null ? null : b.responseFormatJson;
    this.extra = b.extra == null || b.extra.isEmpty() ? null : b.extra.deepCopy();
    this.extraJson = extra == null ? null : Json.write(extra);
    this.headers = Collections.unmodifiableMap(new LinkedHashMap<>(b.headers));
  }

  /** A builder with nothing set. */
  public static Builder builder() {
    return new Builder();
  }

  /** Options that only name the model. */
  public static ChatOptions model(String model) {
    return builder().model(model).build();
  }

  /** A builder holding this object's values. */
  public Builder toBuilder() {
    Builder b = new Builder();
    b.model = model;
    b.temperature = temperature;
    b.maxTokens = maxTokens;
    b.systemPrompt = systemPrompt;
    b.stopSequences = stopSequences;
    b.toolsJson = toolsJson;
    b.toolsNode = tools;
    b.responseFormatJson = responseFormatJson;
    b.responseFormatNode = responseFormat;
    b.extra = extra == null ? null : extra.deepCopy();
    b.headers.putAll(headers);
    return b;
  }

  /**
   * These options with {@code overrides} laid over them: each field {@code overrides} sets wins;
   * {@code extraJson} objects and {@code headers} are merged field by field, the override's fields
   * winning.
   */
  public ChatOptions merge(ChatOptions overrides) {
    if (overrides.isEmpty()) {
      return this;
    }
    if (isEmpty()) {
      return overrides;
    }
    Builder b = toBuilder();
    if (overrides.model != null) {
      b.model = overrides.model;
    }
    if (overrides.temperature != null) {
      b.temperature = overrides.temperature;
    }
    if (overrides.maxTokens != null) {
      b.maxTokens = overrides.maxTokens;
    }
    if (overrides.systemPrompt != null) {
      b.systemPrompt = overrides.systemPrompt;
    }
    if (overrides.stopSequences != null) {
      b.stopSequences = overrides.stopSequences;
    }
    if (overrides.toolsJson != null) {
      b.toolsJson = overrides.toolsJson;
      b.toolsNode = overrides.tools;
    }
    if (overrides.responseFormatJson != null) {
      b.responseFormatJson = overrides.responseFormatJson;
      b.responseFormatNode = overrides.responseFormat;
    }
    if (overrides.extra != null) {
      ObjectNode merged = b.extra == null ? Json.NODES.objectNode() : b.extra;
      merged.setAll(overrides.extra.deepCopy());
      b.extra = merged;
    }
    b.headers.putAll(overrides.headers);
    return b.build();
  }

  private boolean isEmpty() {
    return model == null
        && temperature == null
        && maxTokens == null
        && systemPrompt == null
        && stopSequences == null
        && toolsJson == null
        && responseFormatJson == null
        && extra == null
        && headers.isEmpty();
  }

  /** The model's name, or null to use the client's default. */
  public @Nullable String model() {
    return model;
  }

  /** Sampling temperature, or null for the server's default. */
  public @Nullable Double temperature() {
    return temperature;
  }

  /** The most tokens to generate, or null for the server's default. */
  public @Nullable Integer maxTokens() {
    return maxTokens;
  }

  /** A system prompt put before the conversation, or null. */
  public @Nullable String systemPrompt() {
    return systemPrompt;
  }

  /** Sequences that end generation, or null when not set. */
  public @Nullable List<String> stopSequences() {
    return stopSequences;
  }

  /** The tool definitions as a JSON array, or null. */
  public @Nullable String toolsJson() {
    return toolsJson;
  }

  /** The response format as a JSON object, or null. */
  public @Nullable String responseFormatJson() {
    return responseFormatJson;
  }

  /** Extra request-body fields as a JSON object, or null. */
  public @Nullable String extraJson() {
    return extraJson;
  }

  /** Extra request headers (unmodifiable, in insertion order). */
  public Map<String, String> headers() {
    return headers;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof ChatOptions c
        && Objects.equals(model, c.model)
        && Objects.equals(temperature, c.temperature)
        && Objects.equals(maxTokens, c.maxTokens)
        && Objects.equals(systemPrompt, c.systemPrompt)
        && Objects.equals(stopSequences, c.stopSequences)
        && Objects.equals(toolsJson, c.toolsJson)
        && Objects.equals(responseFormatJson, c.responseFormatJson)
        && Objects.equals(extraJson, c.extraJson)
        && headers.equals(c.headers);
  }

  @Override
  public int hashCode() {
    return Objects.hash(
        model,
        temperature,
        maxTokens,
        systemPrompt,
        stopSequences,
        toolsJson,
        responseFormatJson,
        extraJson,
        headers);
  }

  /** The options without header values (they may hold credentials) nor long JSON. */
  @Override
  public String toString() {
    StringBuilder sb = new StringBuilder("ChatOptions{");
    if (model != null) {
      sb.append("model=").append(model).append(", ");
    }
    if (temperature != null) {
      sb.append("temperature=").append(temperature).append(", ");
    }
    if (maxTokens != null) {
      sb.append("maxTokens=").append(maxTokens).append(", ");
    }
    if (systemPrompt != null) {
      sb.append("systemPrompt=").append(systemPrompt.length()).append(" chars, ");
    }
    if (stopSequences != null) {
      sb.append("stopSequences=").append(stopSequences.size()).append(", ");
    }
    if (tools != null) {
      sb.append("tools=").append(tools.size()).append(", ");
    }
    if (responseFormat != null) {
      sb.append("responseFormat, ");
    }
    if (extra != null) {
      sb.append("extra=").append(fieldNames(extra)).append(", ");
    }
    if (!headers.isEmpty()) {
      sb.append("headers=").append(headers.keySet()).append(", ");
    }
    if (sb.charAt(sb.length() - 1) == ' ') {
      sb.setLength(sb.length() - 2);
    }
    return sb.append('}').toString();
  }

  private static List<String> fieldNames(ObjectNode node) {
    List<String> names = new ArrayList<>();
    node.fieldNames().forEachRemaining(names::add);
    return names;
  }

  /** Builds {@link ChatOptions}; values are checked in {@link #build()}. Not thread-safe. */
  public static final class Builder {
    private @Nullable String model;
    private @Nullable Double temperature;
    private @Nullable Integer maxTokens;
    private @Nullable String systemPrompt;
    private @Nullable List<String> stopSequences;
    private @Nullable String toolsJson;
    private @Nullable String responseFormatJson;
    // Trees already parsed from the two strings above (null when not parsed yet): spares merge()
    // a second parse. Trees are shared, never modified.
    private @Nullable ArrayNode toolsNode;
    private @Nullable ObjectNode responseFormatNode;
    private @Nullable ObjectNode extra;
    private final Map<String, String> headers = new LinkedHashMap<>();

    private Builder() {}

    /** The model, e.g. {@code gpt-4o} or {@code claude-sonnet-4-5}; null to unset. */
    public Builder model(@Nullable String model) {
      this.model = model;
      return this;
    }

    /** Sampling temperature (OpenAI 0-2, Anthropic 0-1); null to unset. */
    public Builder temperature(@Nullable Double temperature) {
      this.temperature = temperature;
      return this;
    }

    /** The most tokens to generate; null to unset. */
    public Builder maxTokens(@Nullable Integer maxTokens) {
      this.maxTokens = maxTokens;
      return this;
    }

    /** A system prompt put before the conversation; null to unset. */
    public Builder systemPrompt(@Nullable String systemPrompt) {
      this.systemPrompt = systemPrompt;
      return this;
    }

    /** Sequences that end generation; null to unset. */
    public Builder stopSequences(@Nullable List<String> stopSequences) {
      this.stopSequences = stopSequences == null ? null : new ArrayList<>(stopSequences);
      return this;
    }

    /** Sequences that end generation. */
    public Builder stopSequences(String... stopSequences) {
      return stopSequences(List.of(stopSequences));
    }

    /**
     * Tool definitions as a JSON array (see the class comment for each provider); null to unset.
     */
    public Builder toolsJson(@Nullable String toolsJson) {
      this.toolsJson = toolsJson;
      this.toolsNode = null;
      return this;
    }

    /** The response format as a JSON object, e.g. a JSON schema; null to unset. */
    public Builder responseFormatJson(@Nullable String responseFormatJson) {
      this.responseFormatJson = responseFormatJson;
      this.responseFormatNode = null;
      return this;
    }

    /**
     * Extra request-body fields: every field of this JSON object is added to the body's top level
     * (replacing what was added before under the same names), winning over a field llmpool writes.
     * Null clears them.
     */
    public Builder extraJson(@Nullable String jsonObject) {
      if (jsonObject == null) {
        this.extra = null;
      } else {
        ObjectNode fields = Json.parseObject(jsonObject, "extraJson");
        if (extra == null) {
          extra = Json.NODES.objectNode();
        }
        extra.setAll(fields);
      }
      return this;
    }

    /**
     * One extra request-body field: a String, Number, Boolean, null, or a List or Map of those,
     * written as JSON (use {@link #extraJson(String)} for raw JSON).
     */
    public Builder extra(String name, @Nullable Object value) {
      Objects.requireNonNull(name, "name");
      JsonNode node;
      try {
        node = Json.MAPPER.valueToTree(value);
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(
            "extra field '" + name + "' cannot be written as JSON: " + e.getMessage(), e);
      }
      if (extra == null) {
        extra = Json.NODES.objectNode();
      }
      extra.set(name, node == null ? Json.NODES.nullNode() : node);
      return this;
    }

    /**
     * An extra request header, e.g. {@code anthropic-beta}. Its value is never logged nor put in a
     * message. Null removes the header.
     */
    public Builder header(String name, @Nullable String value) {
      Objects.requireNonNull(name, "name");
      String lower = name.toLowerCase(Locale.ROOT);
      if (value == null) {
        headers.remove(lower);
      } else {
        headers.put(lower, value);
      }
      return this;
    }

    /**
     * Checks the values and builds.
     *
     * @throws IllegalArgumentException naming the field when a value is out of range, a JSON field
     *     does not parse or has the wrong shape, or a header is malformed or reserved
     */
    public ChatOptions build() {
      if (model != null && model.isBlank()) {
        throw new IllegalArgumentException("model must not be blank");
      }
      if (temperature != null && (!Double.isFinite(temperature) || temperature < 0)) {
        throw new IllegalArgumentException(
            "temperature must be a finite number >= 0, got " + temperature);
      }
      if (maxTokens != null && maxTokens < 1) {
        throw new IllegalArgumentException("maxTokens must be at least 1, got " + maxTokens);
      }
      if (stopSequences != null) {
        for (String s : stopSequences) {
          if (s == null || s.isEmpty()) {
            throw new IllegalArgumentException("stopSequences must not hold null or empty strings");
          }
        }
      }
      ArrayNode tools = toolsNode;
      if (tools == null && toolsJson != null) {
        JsonNode node = Json.parse(toolsJson, "toolsJson");
        if (!node.isArray()) {
          throw new IllegalArgumentException("toolsJson must be a JSON array of tool definitions");
        }
        tools = (ArrayNode) node;
      }
      ObjectNode responseFormat = responseFormatNode;
      if (responseFormat == null && responseFormatJson != null) {
        responseFormat = Json.parseObject(responseFormatJson, "responseFormatJson");
      }
      for (Map.Entry<String, String> h : headers.entrySet()) {
        checkHeader(h.getKey(), h.getValue());
      }
      return new ChatOptions(this, tools, responseFormat);
    }

    private static void checkHeader(String name, String value) {
      if (name.isEmpty()) {
        throw new IllegalArgumentException("header name is empty");
      }
      for (int i = 0; i < name.length(); i++) {
        char c = name.charAt(i);
        boolean token =
            (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || "!#$%&'*+-.^_`|~".indexOf(c) >= 0;
        if (!token) {
          throw new IllegalArgumentException("header name '" + name + "' has an invalid character");
        }
      }
      for (int i = 0; i < value.length(); i++) {
        char c = value.charAt(i);
        // RFC 9110 §5.5 field values: no control character but HTAB, nothing past ISO-8859-1.
        if ((c < 0x20 && c != '\t') || c == 0x7f || c > 0xff) {
          // Never echo the value: it may be a credential.
          throw new IllegalArgumentException(
              "header '" + name + "' value has an illegal character at index " + i);
        }
      }
      switch (name) {
        case "host",
            "content-length",
            "content-type",
            "transfer-encoding",
            "connection",
            "te",
            "upgrade",
            "keep-alive",
            "accept" ->
            throw new IllegalArgumentException(
                "header '" + name + "' is set by llmpool and cannot be overridden");
        default -> {}
      }
    }
  }
}
