package dev.llmpool.llm.internal;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.util.ByteArrayBuilder;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.llmpool.llm.ToolCall;
import dev.llmpool.llm.Usage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import org.jspecify.annotations.Nullable;

/** Helpers the two codecs share. */
final class Codecs {
  private Codecs() {}

  /** Writes a JSON body with a generator; I/O errors cannot happen in memory. */
  interface BodyWriter {
    void write(JsonGenerator g) throws IOException;
  }

  static byte[] write(int sizeHint, BodyWriter writer) {
    try (ByteArrayBuilder out = new ByteArrayBuilder(Math.max(256, sizeHint))) {
      try (JsonGenerator g = Json.FACTORY.createGenerator(out)) {
        writer.write(g);
      }
      return out.toByteArray();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** True when the typed field {@code name} should be written: extra fields win. */
  static boolean free(@Nullable ObjectNode extra, String name) {
    return extra == null || !extra.has(name);
  }

  /** Writes every extra field at the end of the body. */
  static void writeExtra(JsonGenerator g, @Nullable ObjectNode extra) throws IOException {
    if (extra == null) {
      return;
    }
    for (var e : extra.properties()) {
      g.writeFieldName(e.getKey());
      Json.MAPPER.writeTree(g, e.getValue());
    }
  }

  /** A rough size of the messages, to size the output buffer once. */
  static int sizeHint(List<dev.llmpool.llm.Message> messages) {
    long n = 256;
    for (dev.llmpool.llm.Message m : messages) {
      String t = m.text() != null ? m.text() : m.contentJson();
      n += 32 + (t == null ? 0 : t.length());
    }
    return (int) Math.min(n + n / 8, 64L << 20);
  }

  /** A non-negative count field, 0 when absent. */
  static long count(@Nullable JsonNode node, String field) {
    long v = Json.number(node, field);
    return Math.max(0, v);
  }

  /** OpenAI-style {@code usage}, or null. */
  static @Nullable Usage openAiUsage(@Nullable JsonNode u) {
    if (u == null || !u.isObject()) {
      return null;
    }
    long in = count(u, "prompt_tokens");
    long out = count(u, "completion_tokens");
    long total = Json.number(u, "total_tokens");
    long cached = count(u.get("prompt_tokens_details"), "cached_tokens");
    long reasoning = count(u.get("completion_tokens_details"), "reasoning_tokens");
    return new Usage(in, out, total >= 0 ? total : in + out, cached, 0, reasoning);
  }

  /** Anthropic-style {@code usage}, or null. */
  static @Nullable Usage anthropicUsage(@Nullable JsonNode u) {
    if (u == null || !u.isObject()) {
      return null;
    }
    long in = count(u, "input_tokens");
    long out = count(u, "output_tokens");
    long read = count(u, "cache_read_input_tokens");
    long created = count(u, "cache_creation_input_tokens");
    long input = in + read + created;
    return new Usage(input, out, input + out, read, created, 0);
  }

  /** The text of OpenAI {@code content}: a string, or the text parts of an array. */
  static String contentText(@Nullable JsonNode content) {
    if (content == null || content.isNull()) {
      return "";
    }
    if (content.isTextual()) {
      return content.asText();
    }
    if (content.isArray()) {
      StringBuilder sb = new StringBuilder();
      for (JsonNode part : content) {
        if (part.isTextual()) {
          sb.append(part.asText());
        } else if ("text".equals(Json.text(part, "type"))) {
          String t = Json.text(part, "text");
          if (t != null) {
            sb.append(t);
          }
        }
      }
      return sb.toString();
    }
    return "";
  }

  /** OpenAI {@code tool_calls} of a message. */
  static List<ToolCall> openAiToolCalls(@Nullable JsonNode calls) {
    if (calls == null || !calls.isArray() || calls.isEmpty()) {
      return List.of();
    }
    List<ToolCall> out = new ArrayList<>(calls.size());
    for (JsonNode c : calls) {
      JsonNode fn = c.get("function");
      String id = Json.text(c, "id");
      String name = Json.text(fn, "name");
      JsonNode args = fn == null ? null : fn.get("arguments");
      String argText =
          args == null || args.isNull()
              ? "{}"
              : args.isTextual() ? args.asText() : Json.write(args);
      out.add(new ToolCall(id == null ? "" : id, name == null ? "" : name, argText));
    }
    return out;
  }
}
