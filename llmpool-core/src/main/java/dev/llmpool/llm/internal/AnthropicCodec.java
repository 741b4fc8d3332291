package dev.llmpool.llm.internal;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.llmpool.llm.ChatOptions;
import dev.llmpool.llm.Message;
import dev.llmpool.llm.ToolCall;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * Anthropic messages ({@code POST /v1/messages}, {@code anthropic-version: 2023-06-01}).
 *
 * <p>Requests: {@code system} is a top-level field (the options' system prompt and every {@link
 * Message.Role#SYSTEM} message, joined; blocks when any is JSON); {@code max_tokens} is required
 * and defaults to {@link ChatOptions#ANTHROPIC_DEFAULT_MAX_TOKENS}; tool results are {@code
 * tool_result} blocks of a user message, consecutive ones sharing it.
 *
 * <p>Streams: {@code message_start}, then per content block {@code content_block_start}, {@code
 * content_block_delta}s ({@code text_delta}, {@code input_json_delta}, {@code thinking_delta},
 * {@code signature_delta}, {@code citations_delta}) and {@code content_block_stop}, then {@code
 * message_delta} (stop reason, usage) and {@code message_stop}; {@code ping}s anywhere; an {@code
 * error} event may come at any point after the 200. The per-token {@code content_block_delta} is
 * read with Jackson's streaming parser; the rare events as trees. The answer is folded into the
 * {@code message} the non-streamed call returns.
 */
public final class AnthropicCodec implements ProviderCodec {

  @Override
  public String name() {
    return "anthropic";
  }

  @Override
  public byte[] encode(List<Message> messages, ChatOptions options, boolean stream) {
    ChatOptionsAccess.Accessor access = ChatOptionsAccess.get();
    ObjectNode extra = access.extra(options);
    String model = options.model();
    if (model == null && Codecs.free(extra, "model")) {
      throw new IllegalArgumentException(
          "no model: set one in the client's default options or in the call's ChatOptions");
    }
    JsonNode system = system(options.systemPrompt(), messages);
    // Arguments are checked before writing, so that a bad one fails as IllegalArgumentException.
    List<List<JsonNode>> toolInputs = new ArrayList<>(messages.size());
    for (Message m : messages) {
      List<JsonNode> inputs = new ArrayList<>(m.toolCalls().size());
      for (ToolCall c : m.toolCalls()) {
        inputs.add(toolInput(c));
      }
      toolInputs.add(inputs);
    }
    return Codecs.write(
        Codecs.sizeHint(messages),
        g -> {
          g.writeStartObject();
          if (model != null && Codecs.free(extra, "model")) {
            g.writeStringField("model", model);
          }
          Integer maxTokens = options.maxTokens();
          if (Codecs.free(extra, "max_tokens")) {
            g.writeNumberField(
                "max_tokens",
                maxTokens != null ? maxTokens : ChatOptions.ANTHROPIC_DEFAULT_MAX_TOKENS);
          }
          if (system != null && Codecs.free(extra, "system")) {
            g.writeFieldName("system");
            Json.MAPPER.writeTree(g, system);
          }
          if (Codecs.free(extra, "messages")) {
            writeMessages(g, messages, toolInputs);
          }
          Double temperature = options.temperature();
          if (temperature != null && Codecs.free(extra, "temperature")) {
            g.writeNumberField("temperature", temperature);
          }
          List<String> stop = options.stopSequences();
          if (stop != null && Codecs.free(extra, "stop_sequences")) {
            g.writeArrayFieldStart("stop_sequences");
            for (String s : stop) {
              g.writeString(s);
            }
            g.writeEndArray();
          }
          ArrayNode tools = access.tools(options);
          if (tools != null && Codecs.free(extra, "tools")) {
            g.writeFieldName("tools");
            Json.MAPPER.writeTree(g, tools(tools));
          }
          ObjectNode format = access.responseFormat(options);
          if (format != null && Codecs.free(extra, "output_config")) {
            g.writeObjectFieldStart("output_config");
            g.writeFieldName("format");
            Json.MAPPER.writeTree(g, outputFormat(format));
            g.writeEndObject();
          }
          if (stream && Codecs.free(extra, "stream")) {
            g.writeBooleanField("stream", true);
          }
          Codecs.writeExtra(g, extra);
          g.writeEndObject();
        });
  }

  /** The top-level {@code system}: a string, or blocks when any part is JSON; null when none. */
  static @Nullable JsonNode system(@Nullable String prompt, List<Message> messages) {
    List<Object> parts = new ArrayList<>();
    if (prompt != null) {
      parts.add(prompt);
    }
    boolean blocks = false;
    for (Message m : messages) {
      if (m.role() == Message.Role.SYSTEM) {
        if (m.text() != null) {
          parts.add(m.text());
        } else if (m.contentJson() != null) {
          JsonNode json = Json.parse(m.contentJson(), "system message contentJson");
          parts.add(json);
          blocks |= json.isArray();
        }
      }
    }
    if (parts.isEmpty()) {
      return null;
    }
    if (!blocks) {
      StringBuilder sb = new StringBuilder();
      for (Object p : parts) {
        if (sb.length() > 0) {
          sb.append("\n\n");
        }
        sb.append(p instanceof JsonNode n ? n.asText() : (String) p);
      }
      return Json.NODES.textNode(sb.toString());
    }
    ArrayNode out = Json.NODES.arrayNode();
    for (Object p : parts) {
      if (p instanceof JsonNode n && n.isArray()) {
        out.addAll((ArrayNode) n);
      } else {
        ObjectNode block = out.addObject();
        block.put("type", "text");
        block.put("text", p instanceof JsonNode n ? n.asText() : (String) p);
      }
    }
    return out;
  }

  private static void writeMessages(
      JsonGenerator g, List<Message> messages, List<List<JsonNode>> toolInputs) throws IOException {
    g.writeArrayFieldStart("messages");
    int i = 0;
    while (i < messages.size()) {
      Message m = messages.get(i);
      switch (m.role()) {
        case SYSTEM -> i++;
        case TOOL -> {
          // Consecutive tool results travel in one user message.
          g.writeStartObject();
          g.writeStringField("role", "user");
          g.writeArrayFieldStart("content");
          while (i < messages.size() && messages.get(i).role() == Message.Role.TOOL) {
            Message t = messages.get(i);
            g.writeStartObject();
            g.writeStringField("type", "tool_result");
            g.writeStringField("tool_use_id", String.valueOf(t.toolCallId()));
            writeContent(g, t);
            g.writeEndObject();
            i++;
          }
          g.writeEndArray();
          g.writeEndObject();
        }
        default -> {
          g.writeStartObject();
          g.writeStringField("role", m.role().wireName());
          if (m.toolCalls().isEmpty()) {
            writeContent(g, m);
          } else {
            g.writeArrayFieldStart("content");
            String text = m.text();
            String json = m.contentJson();
            if (text != null && !text.isEmpty()) {
              g.writeStartObject();
              g.writeStringField("type", "text");
              g.writeStringField("text", text);
              g.writeEndObject();
            } else if (json != null) {
              JsonNode content = Json.parse(json, "message contentJson");
              if (content.isArray()) {
                for (JsonNode block : content) {
                  Json.MAPPER.writeTree(g, block);
                }
              } else if (content.isTextual() && !content.asText().isEmpty()) {
                g.writeStartObject();
                g.writeStringField("type", "text");
                g.writeStringField("text", content.asText());
                g.writeEndObject();
              }
            }
            List<JsonNode> inputs = toolInputs.get(i);
            for (int k = 0; k < m.toolCalls().size(); k++) {
              ToolCall c = m.toolCalls().get(k);
              g.writeStartObject();
              g.writeStringField("type", "tool_use");
              g.writeStringField("id", c.id());
              g.writeStringField("name", c.name());
              g.writeFieldName("input");
              Json.MAPPER.writeTree(g, inputs.get(k));
              g.writeEndObject();
            }
            g.writeEndArray();
          }
          g.writeEndObject();
          i++;
        }
      }
    }
    g.writeEndArray();
  }

  private static void writeContent(JsonGenerator g, Message m) throws IOException {
    String text = m.text();
    if (text != null) {
      g.writeStringField("content", text);
    } else {
      g.writeFieldName("content");
      g.writeRawValue(String.valueOf(m.contentJson()));
    }
  }

  /** A tool call's arguments as the object Anthropic wants; blank means none. */
  private static JsonNode toolInput(ToolCall c) {
    String args = c.argumentsJson();
    if (args.isBlank()) {
      return Json.NODES.objectNode();
    }
    JsonNode input = Json.parse(args, "arguments of tool call " + c.id());
    if (!input.isObject()) {
      throw new IllegalArgumentException(
          "arguments of tool call " + c.id() + " must be a JSON object for Anthropic");
    }
    return input;
  }

  /** OpenAI-shaped function tools converted; other entries verbatim. */
  static ArrayNode tools(ArrayNode tools) {
    ArrayNode out = Json.NODES.arrayNode(tools.size());
    for (JsonNode t : tools) {
      JsonNode fn = t.get("function");
      if ("function".equals(Json.text(t, "type")) && fn != null && fn.isObject()) {
        ObjectNode a = out.addObject();
        JsonNode name = fn.get("name");
        if (name != null) {
          a.set("name", name);
        }
        JsonNode description = fn.get("description");
        if (description != null && !description.isNull()) {
          a.set("description", description);
        }
        JsonNode parameters = fn.get("parameters");
        if (parameters != null && parameters.isObject()) {
          a.set("input_schema", parameters);
        } else {
          ObjectNode schema = a.putObject("input_schema");
          schema.put("type", "object");
          schema.putObject("properties");
        }
        JsonNode strict = fn.get("strict");
        if (strict != null && strict.isBoolean()) {
          a.set("strict", strict);
        }
      } else {
        out.add(t);
      }
    }
    return out;
  }

  /** OpenAI's {@code json_schema} response format converted; other shapes verbatim. */
  static JsonNode outputFormat(ObjectNode format) {
    JsonNode wrapped = format.get("json_schema");
    if ("json_schema".equals(Json.text(format, "type"))
        && wrapped != null
        && wrapped.isObject()
        && wrapped.has("schema")) {
      ObjectNode out = Json.NODES.objectNode();
      out.put("type", "json_schema");
      out.set("schema", wrapped.get("schema"));
      return out;
    }
    return format;
  }

  @Override
  public Decoded decode(byte[] body) throws IOException {
    JsonNode root = Json.parse(body, 0, body.length);
    if (!root.isObject()) {
      throw new IOException("the body is not a JSON object");
    }
    if ("error".equals(Json.text(root, "type")) || (root.has("error") && !root.has("content"))) {
      throw new ProviderErrorEvent(root, new String(body, StandardCharsets.UTF_8));
    }
    JsonNode content = root.get("content");
    if (content == null || !content.isArray()) {
      throw new IOException("the body has no \"content\" array: not a message");
    }
    StringBuilder text = new StringBuilder();
    List<ToolCall> calls = new ArrayList<>();
    for (JsonNode block : content) {
      String type = Json.text(block, "type");
      if ("text".equals(type)) {
        String t = Json.text(block, "text");
        if (t != null) {
          text.append(t);
        }
      } else if ("tool_use".equals(type)) {
        calls.add(toolCall(block));
      }
    }
    return new Decoded(
        text.toString(),
        calls,
        Json.text(root, "id"),
        Json.text(root, "model"),
        Json.text(root, "stop_reason"),
        Codecs.anthropicUsage(root.get("usage")),
        new String(body, StandardCharsets.UTF_8));
  }

  private static ToolCall toolCall(JsonNode block) {
    JsonNode input = block.get("input");
    String id = Json.text(block, "id");
    String name = Json.text(block, "name");
    return new ToolCall(
        id == null ? "" : id,
        name == null ? "" : name,
        input == null || input.isNull() ? "{}" : Json.write(input));
  }

  @Override
  public StreamDecoder newStreamDecoder() {
    return new Stream();
  }

  /** A content block being assembled. */
  private static final class Block {
    final ObjectNode node;
    final String type;
    final StringBuilder acc = new StringBuilder();
    @Nullable StringBuilder signature;
    boolean stopped;

    Block(ObjectNode node) {
      this.node = node;
      String t = Json.text(node, "type");
      this.type = t == null ? "" : t;
    }
  }

  private static final class Stream implements StreamDecoder {
    private @Nullable ObjectNode message;
    private final List<@Nullable Block> blocks = new ArrayList<>();
    private final ObjectNode usage = Json.NODES.objectNode();
    private @Nullable JsonNode stopReason;
    private @Nullable JsonNode stopSequence;
    private boolean done;

    @Override
    public void onEvent(SseEvent event, StreamSink sink) throws IOException {
      if (done) {
        return;
      }
      String type = event.type();
      switch (type) {
        case "ping" -> {}
        case "content_block_delta" -> fastDelta(event, sink);
        default -> {
          if (event.dataLength() == 0) {
            return;
          }
          JsonNode data = Json.parse(event.dataBytes(), 0, event.dataLength());
          if (type.equals("message")) {
            // A server that leaves out "event:" lines: the data's own type says.
            String inner = Json.text(data, "type");
            type = inner == null ? "message" : inner;
          }
          tree(type, data, event, sink);
        }
      }
    }

    private void tree(String type, JsonNode data, SseEvent event, StreamSink sink)
        throws IOException {
      switch (type) {
        case "message_start" -> {
          JsonNode m = data.get("message");
          if (m instanceof ObjectNode o) {
            message = o;
            JsonNode u = o.get("usage");
            if (u instanceof ObjectNode uo) {
              usage.setAll(uo);
            }
          }
        }
        case "content_block_start" -> {
          int index = data.path("index").asInt(blocks.size());
          JsonNode b = data.get("content_block");
          ObjectNode node = b instanceof ObjectNode o ? o : Json.NODES.objectNode();
          while (blocks.size() <= index) {
            blocks.add(null);
          }
          Block block = new Block(node);
          String initial =
              switch (block.type) {
                case "text" -> Json.text(node, "text");
                case "thinking" -> Json.text(node, "thinking");
                default -> null;
              };
          if (initial != null && !initial.isEmpty()) {
            block.acc.append(initial);
            if (block.type.equals("text")) {
              sink.text(initial);
            } else {
              sink.reasoning(initial);
            }
          }
          blocks.set(index, block);
        }
        case "content_block_delta" -> {
          JsonNode d = data.path("delta");
          delta(
              data.path("index").asInt(0),
              String.valueOf(Json.text(d, "type")),
              valueOf(d),
              d,
              sink);
        }
        case "content_block_stop" -> stop(data.path("index").asInt(0), sink);
        case "message_delta" -> {
          JsonNode d = data.get("delta");
          if (d != null) {
            if (d.has("stop_reason")) {
              stopReason = d.get("stop_reason");
            }
            if (d.has("stop_sequence")) {
              stopSequence = d.get("stop_sequence");
            }
          }
          JsonNode u = data.get("usage");
          if (u instanceof ObjectNode uo) {
            // Counts in message_delta are cumulative: they replace those of message_start.
            uo.properties()
                .forEach(
                    e -> {
                      if (!e.getValue().isNull()) {
                        usage.set(e.getKey(), e.getValue());
                      }
                    });
          }
        }
        case "message_stop" -> done = true;
        case "error" -> throw new ProviderErrorEvent(data, event.data());
        default -> {} // event types added later: the listener's onEvent sees them
      }
    }

    private static @Nullable String valueOf(JsonNode delta) {
      for (String f : new String[] {"text", "partial_json", "thinking", "signature"}) {
        String v = Json.text(delta, f);
        if (v != null) {
          return v;
        }
      }
      return null;
    }

    /** The per-token event, read without building a tree. */
    private void fastDelta(SseEvent event, StreamSink sink) throws IOException {
      int index = 0;
      String deltaType = null;
      String value = null;
      JsonNode other = null;
      try (JsonParser p = Json.FACTORY.createParser(event.dataBytes(), 0, event.dataLength())) {
        if (p.nextToken() != JsonToken.START_OBJECT) {
          throw new IOException("a content_block_delta event is not a JSON object");
        }
        while (p.nextToken() == JsonToken.FIELD_NAME) {
          String name = p.currentName();
          JsonToken t = p.nextToken();
          if (name.equals("index")) {
            index = p.getValueAsInt(0);
          } else if (name.equals("delta") && t == JsonToken.START_OBJECT) {
            while (p.nextToken() == JsonToken.FIELD_NAME) {
              String f = p.currentName();
              JsonToken v = p.nextToken();
              switch (f) {
                case "type" -> deltaType = p.getText();
                case "text", "partial_json", "thinking", "signature" -> {
                  if (v == JsonToken.VALUE_STRING) {
                    value = p.getText();
                  } else {
                    p.skipChildren();
                  }
                }
                case "citation" -> {
                  ObjectNode o = Json.NODES.objectNode();
                  o.set("citation", Json.MAPPER.readTree(p));
                  other = o;
                }
                default -> p.skipChildren();
              }
            }
          } else {
            p.skipChildren();
          }
        }
      }
      delta(index, deltaType == null ? "" : deltaType, value, other, sink);
    }

    private void delta(
        int index,
        String deltaType,
        @Nullable String value,
        @Nullable JsonNode other,
        StreamSink sink) {
      Block block = index >= 0 && index < blocks.size() ? blocks.get(index) : null;
      if (block == null) {
        // A delta without its block start: make a block of the delta's kind.
        ObjectNode node = Json.NODES.objectNode();
        node.put(
            "type",
            switch (deltaType) {
              case "input_json_delta" -> "tool_use";
              case "thinking_delta", "signature_delta" -> "thinking";
              default -> "text";
            });
        while (blocks.size() <= Math.max(index, 0)) {
          blocks.add(null);
        }
        block = new Block(node);
        blocks.set(Math.max(index, 0), block);
      }
      switch (deltaType) {
        case "text_delta" -> {
          if (value != null && !value.isEmpty()) {
            block.acc.append(value);
            sink.text(value);
          }
        }
        case "thinking_delta" -> {
          if (value != null && !value.isEmpty()) {
            block.acc.append(value);
            sink.reasoning(value);
          }
        }
        case "input_json_delta" -> {
          if (value != null) {
            block.acc.append(value);
          }
        }
        case "signature_delta" -> {
          if (value != null) {
            StringBuilder sb = block.signature;
            if (sb == null) {
              sb = new StringBuilder();
              block.signature = sb;
            }
            sb.append(value);
          }
        }
        case "citations_delta" -> {
          JsonNode citation = other == null ? null : other.get("citation");
          if (citation != null) {
            JsonNode list = block.node.get("citations");
            ArrayNode arr = list instanceof ArrayNode a ? a : block.node.putArray("citations");
            arr.add(citation);
          }
        }
        default -> {} // a delta type added later: in the raw events only
      }
    }

    private void stop(int index, StreamSink sink) throws IOException {
      Block block = index >= 0 && index < blocks.size() ? blocks.get(index) : null;
      if (block == null || block.stopped) {
        return;
      }
      block.stopped = true;
      switch (block.type) {
        case "text" -> block.node.put("text", block.acc.toString());
        case "thinking" -> {
          block.node.put("thinking", block.acc.toString());
          if (block.signature != null) {
            block.node.put("signature", block.signature.toString());
          }
        }
        case "tool_use", "server_tool_use", "mcp_tool_use" -> {
          if (block.acc.length() > 0) {
            JsonNode input;
            try {
              input = Json.parse(block.acc.toString(), "streamed tool input");
            } catch (IllegalArgumentException e) {
              throw new IOException("the streamed input of a tool_use block is not JSON", e);
            }
            block.node.set("input", input);
          } else if (!block.node.has("input")) {
            block.node.putObject("input");
          }
          if (block.type.equals("tool_use")) {
            sink.toolCall(toolCall(block.node));
          }
        }
        default -> {}
      }
    }

    @Override
    public boolean finished() {
      return done;
    }

    @Override
    public boolean completeWithoutEndMarker() {
      return stopReason != null && !stopReason.isNull();
    }

    @Override
    public Decoded finish(StreamSink sink) {
      for (int i = 0; i < blocks.size(); i++) {
        try {
          stop(i, sink);
        } catch (IOException e) {
          // An unfinished tool input: keep the block as it is.
        }
      }
      ObjectNode out = message != null ? message : Json.NODES.objectNode();
      if (!out.has("type")) {
        out.put("type", "message");
      }
      if (!out.has("role")) {
        out.put("role", "assistant");
      }
      ArrayNode content = out.putArray("content");
      StringBuilder text = new StringBuilder();
      List<ToolCall> calls = new ArrayList<>();
      for (Block b : blocks) {
        if (b == null) {
          continue;
        }
        content.add(b.node);
        if (b.type.equals("text")) {
          text.append(b.acc);
        } else if (b.type.equals("tool_use")) {
          calls.add(toolCall(b.node));
        }
      }
      if (stopReason != null) {
        out.set("stop_reason", stopReason);
      }
      if (stopSequence != null) {
        out.set("stop_sequence", stopSequence);
      }
      if (!usage.isEmpty()) {
        out.set("usage", usage);
      }
      return new Decoded(
          text.toString(),
          calls,
          Json.text(out, "id"),
          Json.text(out, "model"),
          stopReason == null || stopReason.isNull() ? null : stopReason.asText(),
          usage.isEmpty() ? null : Codecs.anthropicUsage(usage),
          Json.write(out));
    }
  }
}
