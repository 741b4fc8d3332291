package dev.llmpool.llm.internal;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.cfg.JsonNodeFeature;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import org.jspecify.annotations.Nullable;

/**
 * The one shared {@link ObjectMapper} of the LLM layer (thread-safe once configured; creating one
 * per call is the classic Jackson cost) and small helpers around it.
 */
public final class Json {
  /**
   * Shared mapper. Never reconfigure it after start. Big numbers stay exact (a provider's id or
   * token count must round-trip unchanged in the raw JSON we keep).
   */
  public static final ObjectMapper MAPPER = newMapper();

  /** The mapper's factory, for streaming parsers and generators. */
  public static final JsonFactory FACTORY = MAPPER.getFactory();

  /** The node factory for building trees. */
  public static final JsonNodeFactory NODES = JsonNodeFactory.instance;

  private Json() {}

  private static ObjectMapper newMapper() {
    JsonFactory factory =
        JsonFactory.builder()
            // A response is bounded by the HTTP layer; let long strings (base64 images) through.
            .streamReadConstraints(
                StreamReadConstraints.builder().maxStringLength(Integer.MAX_VALUE).build())
            .build();
    ObjectMapper mapper = new ObjectMapper(factory);
    mapper.configure(JsonNodeFeature.STRIP_TRAILING_BIGDECIMAL_ZEROES, false);
    mapper.enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS);
    // Not FAIL_ON_TRAILING_TOKENS: it would also fire when reading a nested value as a tree from
    // a streaming parser; whole documents are checked by parse() instead.
    return mapper;
  }

  /**
   * Parses {@code json}; on failure throws {@link IllegalArgumentException} naming {@code what} and
   * the parser's location, never echoing the text itself.
   */
  public static JsonNode parse(String json, String what) {
    try (JsonParser p = FACTORY.createParser(json)) {
      JsonNode node = MAPPER.readTree(p);
      if (node == null || node.isMissingNode()) {
        throw new IllegalArgumentException(what + " is empty, expected JSON");
      }
      if (p.nextToken() != null) {
        throw new IllegalArgumentException(what + " has content after its JSON value");
      }
      return node;
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException(what + " is not valid JSON: " + describe(e), e);
    } catch (IOException e) {
      // A String source does no I/O.
      throw new UncheckedIOException(e);
    }
  }

  /** Parses {@code json} and checks that it is an object. */
  public static ObjectNode parseObject(String json, String what) {
    JsonNode node = parse(json, what);
    if (!node.isObject()) {
      throw new IllegalArgumentException(
          what
              + " must be a JSON object, got "
              + node.getNodeType().name().toLowerCase(java.util.Locale.ROOT));
    }
    return (ObjectNode) node;
  }

  /** Parses bytes into a tree, or throws {@link IOException}. */
  public static JsonNode parse(byte[] bytes, int offset, int length) throws IOException {
    try (JsonParser p = FACTORY.createParser(bytes, offset, length)) {
      JsonNode node = MAPPER.readTree(p);
      if (node == null || node.isMissingNode()) {
        throw new JsonParseException(p, "empty document");
      }
      if (p.nextToken() != null) {
        throw new JsonParseException(p, "content after the JSON value");
      }
      return node;
    }
  }

  /** Serialises a tree compactly. */
  public static String write(JsonNode node) {
    try {
      return MAPPER.writeValueAsString(node);
    } catch (JsonProcessingException e) {
      // A tree built in memory always serialises.
      throw new UncheckedIOException(e);
    }
  }

  /** A text field of an object, or null when missing, null or not a scalar. */
  public static @Nullable String text(@Nullable JsonNode node, String field) {
    if (node == null) {
      return null;
    }
    JsonNode v = node.get(field);
    if (v == null || v.isNull() || v.isContainerNode()) {
      return null;
    }
    return v.asText();
  }

  /** A whole-number field, or -1 when missing or not a number. */
  public static long number(@Nullable JsonNode node, String field) {
    if (node == null) {
      return -1;
    }
    JsonNode v = node.get(field);
    return v != null && v.isNumber() ? v.asLong() : -1;
  }

  /** The parser's message without the source excerpt Jackson may append. */
  static String describe(JsonProcessingException e) {
    String msg = e.getOriginalMessage();
    if (msg == null) {
      msg = e.getClass().getSimpleName();
    }
    // Jackson quotes the offending token, which is the caller's own data: keep it short.
    if (msg.length() > 160) {
      msg = msg.substring(0, 160) + "...";
    }
    var loc = e.getLocation();
    return loc == null
        ? msg
        : msg + " at line " + loc.getLineNr() + ", column " + loc.getColumnNr();
  }
}
