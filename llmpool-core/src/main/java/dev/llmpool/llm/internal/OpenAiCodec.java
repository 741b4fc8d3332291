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
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * OpenAI chat completions ({@code POST .../chat/completions}) as OpenAI, Azure OpenAI, vLLM,
 * Ollama, LiteLLM and other compatible servers speak it.
 *
 * <p>Streams are {@code chat.completion.chunk} objects in {@code data:} events ending with {@code
 * data: [DONE]}; with {@code stream_options.include_usage} a last chunk with empty (or, from vLLM,
 * null) {@code choices} carries the usage. A chunk {@code {"error": {...}}} is an error after the
 * 200 (vLLM, LiteLLM). Only the first choice ({@code index} 0) is streamed to the listener and
 * folded into the answer. Chunks are read with Jackson's streaming parser: the per-token path
 * builds no tree.
 */
public final class OpenAiCodec implements ProviderCodec {
  /** {@code max_tokens}: what every compatible server understands. */
  public static final String MAX_TOKENS = "max_tokens";

  /**
   * {@code max_completion_tokens}: what OpenAI's own API wants (its reasoning models refuse the
   * other).
   */
  public static final String MAX_COMPLETION_TOKENS = "max_completion_tokens";

  private final String maxTokensField;
  private final boolean streamUsage;

  /**
   * @param maxTokensField {@link #MAX_TOKENS} or {@link #MAX_COMPLETION_TOKENS}
   * @param streamUsage whether streamed requests ask for usage ({@code stream_options})
   */
  public OpenAiCodec(String maxTokensField, boolean streamUsage) {
    if (!maxTokensField.equals(MAX_TOKENS) && !maxTokensField.equals(MAX_COMPLETION_TOKENS)) {
      throw new IllegalArgumentException("unknown max tokens field " + maxTokensField);
    }
    this.maxTokensField = maxTokensField;
    this.streamUsage = streamUsage;
  }

  @Override
  public String name() {
    return "openai";
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
    if (messages.isEmpty() && options.systemPrompt() == null && Codecs.free(extra, "messages")) {
      throw new IllegalArgumentException("messages is empty");
    }
    return Codecs.write(
        Codecs.sizeHint(messages),
        g -> {
          g.writeStartObject();
          if (model != null && Codecs.free(extra, "model")) {
            g.writeStringField("model", model);
          }
          if (Codecs.free(extra, "messages")) {
            g.writeArrayFieldStart("messages");
            String system = options.systemPrompt();
            if (system != null) {
              g.writeStartObject();
              g.writeStringField("role", "system");
              g.writeStringField("content", system);
              g.writeEndObject();
            }
            for (Message m : messages) {
              writeMessage(g, m);
            }
            g.writeEndArray();
          }
          Double temperature = options.temperature();
          if (temperature != null && Codecs.free(extra, "temperature")) {
            g.writeNumberField("temperature", temperature);
          }
          Integer maxTokens = options.maxTokens();
          if (maxTokens != null && Codecs.free(extra, maxTokensField)) {
            g.writeNumberField(maxTokensField, maxTokens);
          }
          List<String> stop = options.stopSequences();
          if (stop != null && Codecs.free(extra, "stop")) {
            g.writeArrayFieldStart("stop");
            for (String s : stop) {
              g.writeString(s);
            }
            g.writeEndArray();
          }
          ArrayNode tools = access.tools(options);
          if (tools != null && Codecs.free(extra, "tools")) {
            g.writeFieldName("tools");
            Json.MAPPER.writeTree(g, tools);
          }
          ObjectNode format = access.responseFormat(options);
          if (format != null && Codecs.free(extra, "response_format")) {
            g.writeFieldName("response_format");
            Json.MAPPER.writeTree(g, format);
          }
          if (stream) {
            if (Codecs.free(extra, "stream")) {
              g.writeBooleanField("stream", true);
            }
            if (streamUsage && Codecs.free(extra, "stream_options")) {
              g.writeObjectFieldStart("stream_options");
              g.writeBooleanField("include_usage", true);
              g.writeEndObject();
            }
          }
          Codecs.writeExtra(g, extra);
          g.writeEndObject();
        });
  }

  private static void writeMessage(JsonGenerator g, Message m) throws IOException {
    g.writeStartObject();
    g.writeStringField("role", m.role().wireName());
    String toolCallId = m.toolCallId();
    if (toolCallId != null) {
      g.writeStringField("tool_call_id", toolCallId);
    }
    String text = m.text();
    String json = m.contentJson();
    if (text != null) {
      g.writeStringField("content", text);
    } else if (json != null) {
      g.writeFieldName("content");
      g.writeRawValue(json);
    } else {
      g.writeNullField("content");
    }
    if (!m.toolCalls().isEmpty()) {
      g.writeArrayFieldStart("tool_calls");
      for (ToolCall c : m.toolCalls()) {
        g.writeStartObject();
        g.writeStringField("id", c.id());
        g.writeStringField("type", "function");
        g.writeObjectFieldStart("function");
        g.writeStringField("name", c.name());
        g.writeStringField("arguments", c.argumentsJson());
        g.writeEndObject();
        g.writeEndObject();
      }
      g.writeEndArray();
    }
    g.writeEndObject();
  }

  @Override
  public Decoded decode(byte[] body) throws IOException {
    JsonNode root = Json.parse(body, 0, body.length);
    if (!root.isObject()) {
      throw new IOException("the body is not a JSON object");
    }
    JsonNode choices = root.get("choices");
    if (choices == null || !choices.isArray()) {
      if (root.has("error")) {
        throw new ProviderErrorEvent(root, new String(body, StandardCharsets.UTF_8));
      }
      throw new IOException("the body has no \"choices\" array: not a chat completion");
    }
    JsonNode first = choices.isEmpty() ? null : choices.get(0);
    JsonNode message = first == null ? null : first.get("message");
    return new Decoded(
        Codecs.contentText(message == null ? null : message.get("content")),
        Codecs.openAiToolCalls(message == null ? null : message.get("tool_calls")),
        Json.text(root, "id"),
        Json.text(root, "model"),
        Json.text(first, "finish_reason"),
        Codecs.openAiUsage(root.get("usage")),
        new String(body, StandardCharsets.UTF_8));
  }

  @Override
  public StreamDecoder newStreamDecoder() {
    return new Stream();
  }

  /** A tool call being assembled from deltas. */
  private static final class ToolCallBuilder {
    int index;
    @Nullable String id;
    @Nullable String name;
    final StringBuilder arguments = new StringBuilder();
    boolean delivered;

    ToolCall build() {
      String args = arguments.length() == 0 ? "{}" : arguments.toString();
      return new ToolCall(id == null ? "" : id, name == null ? "" : name, args);
    }
  }

  /** What one chunk said about choice 0; reused. */
  private static final class Piece {
    int index;
    @Nullable String content;
    @Nullable String reasoning;
    @Nullable String reasoningField;
    @Nullable String refusal;
    @Nullable ArrayNode toolCalls;
    @Nullable String finishReason;

    void clear() {
      index = 0;
      content = null;
      reasoning = null;
      reasoningField = null;
      refusal = null;
      toolCalls = null;
      finishReason = null;
    }
  }

  /** Fields that repeat in every chunk: kept from the first one. */
  private static final Set<String> REPEATED =
      Set.of("id", "model", "created", "system_fingerprint", "service_tier");

  private static final class Stream implements StreamDecoder {
    private final ObjectNode top = Json.NODES.objectNode();
    private final StringBuilder text = new StringBuilder();
    private @Nullable StringBuilder reasoning;
    private String reasoningField = "reasoning_content";
    private @Nullable StringBuilder refusal;
    private final List<ToolCallBuilder> tools = new ArrayList<>();
    private @Nullable String finishReason;
    private @Nullable JsonNode usage;
    private boolean done;
    private final Piece piece = new Piece();

    @Override
    public void onEvent(SseEvent event, StreamSink sink) throws IOException {
      if (done || event.dataLength() == 0) {
        return;
      }
      if (event.isDone()) {
        done = true;
        return;
      }
      JsonNode error = null;
      try (JsonParser p = Json.FACTORY.createParser(event.dataBytes(), 0, event.dataLength())) {
        if (p.nextToken() != JsonToken.START_OBJECT) {
          throw new IOException("a stream chunk is not a JSON object");
        }
        while (p.nextToken() == JsonToken.FIELD_NAME) {
          String name = p.currentName();
          JsonToken t = p.nextToken();
          switch (name) {
            case "choices" -> {
              if (t == JsonToken.START_ARRAY) {
                while (p.nextToken() == JsonToken.START_OBJECT) {
                  piece.clear();
                  choice(p, piece);
                  if (piece.index == 0) {
                    apply(piece, sink);
                  }
                }
              } else {
                p.skipChildren();
              }
            }
            case "usage" -> {
              if (t != JsonToken.VALUE_NULL) {
                usage = Json.MAPPER.readTree(p);
              }
            }
            case "error" -> {
              if (t != JsonToken.VALUE_NULL) {
                error = Json.MAPPER.readTree(p);
              }
            }
            case "object" -> p.skipChildren();
            default -> {
              if (REPEATED.contains(name) && top.has(name)) {
                p.skipChildren();
              } else {
                top.set(name, Json.MAPPER.readTree(p));
              }
            }
          }
        }
      }
      if (error != null) {
        ObjectNode root = Json.NODES.objectNode();
        root.set("error", error);
        throw new ProviderErrorEvent(root, event.data());
      }
    }

    private static void choice(JsonParser p, Piece piece) throws IOException {
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String name = p.currentName();
        JsonToken t = p.nextToken();
        switch (name) {
          case "index" -> piece.index = p.getValueAsInt(0);
          case "delta", "message" -> {
            if (t == JsonToken.START_OBJECT) {
              delta(p, piece);
            } else {
              p.skipChildren();
            }
          }
          case "finish_reason" ->
              piece.finishReason = t == JsonToken.VALUE_NULL ? null : p.getText();
          default -> p.skipChildren();
        }
      }
    }

    private static void delta(JsonParser p, Piece piece) throws IOException {
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String name = p.currentName();
        JsonToken t = p.nextToken();
        switch (name) {
          case "content" -> {
            if (t == JsonToken.VALUE_STRING) {
              piece.content = p.getText();
            } else if (t == JsonToken.START_ARRAY) {
              piece.content = Codecs.contentText(Json.MAPPER.readTree(p));
            } else {
              p.skipChildren();
            }
          }
          case "reasoning_content", "reasoning" -> {
            if (t == JsonToken.VALUE_STRING) {
              piece.reasoning = p.getText();
              piece.reasoningField = name;
            } else {
              p.skipChildren();
            }
          }
          case "refusal" -> {
            if (t == JsonToken.VALUE_STRING) {
              piece.refusal = p.getText();
            } else {
              p.skipChildren();
            }
          }
          case "tool_calls" -> {
            if (t == JsonToken.START_ARRAY) {
              JsonNode calls = Json.MAPPER.readTree(p);
              piece.toolCalls = (ArrayNode) calls;
            } else {
              p.skipChildren();
            }
          }
          default -> p.skipChildren();
        }
      }
    }

    private void apply(Piece piece, StreamSink sink) {
      String c = piece.content;
      if (c != null && !c.isEmpty()) {
        text.append(c);
        sink.text(c);
      }
      String r = piece.reasoning;
      if (r != null && !r.isEmpty()) {
        StringBuilder sb = reasoning;
        if (sb == null) {
          sb = new StringBuilder();
          reasoning = sb;
        }
        sb.append(r);
        if (piece.reasoningField != null) {
          reasoningField = piece.reasoningField;
        }
        sink.reasoning(r);
      }
      String ref = piece.refusal;
      if (ref != null && !ref.isEmpty()) {
        StringBuilder sb = refusal;
        if (sb == null) {
          sb = new StringBuilder();
          refusal = sb;
        }
        sb.append(ref);
      }
      ArrayNode calls = piece.toolCalls;
      if (calls != null) {
        for (JsonNode d : calls) {
          mergeToolCall(d);
        }
      }
      if (piece.finishReason != null) {
        finishReason = piece.finishReason;
        deliverToolCalls(sink);
      }
    }

    private void mergeToolCall(JsonNode d) {
      String id = Json.text(d, "id");
      JsonNode fn = d.get("function");
      ToolCallBuilder b = null;
      JsonNode indexNode = d.get("index");
      if (indexNode != null && indexNode.isNumber()) {
        int index = indexNode.asInt();
        for (ToolCallBuilder t : tools) {
          if (t.index == index) {
            b = t;
          }
        }
        if (b == null) {
          b = new ToolCallBuilder();
          b.index = index;
          tools.add(b);
        }
      } else if (id != null) {
        for (ToolCallBuilder t : tools) {
          if (id.equals(t.id)) {
            b = t;
          }
        }
      } else if (!tools.isEmpty()) {
        b = tools.get(tools.size() - 1);
      }
      if (b == null) {
        b = new ToolCallBuilder();
        b.index = tools.size();
        tools.add(b);
      }
      if (id != null && b.id == null) {
        b.id = id;
      }
      String name = Json.text(fn, "name");
      if (name != null && b.name == null) {
        b.name = name;
      }
      JsonNode args = fn == null ? null : fn.get("arguments");
      if (args != null && !args.isNull()) {
        b.arguments.append(args.isTextual() ? args.asText() : Json.write(args));
      }
    }

    private void deliverToolCalls(StreamSink sink) {
      for (ToolCallBuilder b : tools) {
        if (!b.delivered) {
          b.delivered = true;
          sink.toolCall(b.build());
        }
      }
    }

    @Override
    public boolean finished() {
      return done;
    }

    @Override
    public boolean completeWithoutEndMarker() {
      return finishReason != null;
    }

    @Override
    public Decoded finish(StreamSink sink) {
      deliverToolCalls(sink);
      ObjectNode out = Json.NODES.objectNode();
      JsonNode id = top.get("id");
      if (id != null) {
        out.set("id", id);
      }
      out.put("object", "chat.completion");
      for (String f : new String[] {"created", "model"}) {
        JsonNode v = top.get(f);
        if (v != null) {
          out.set(f, v);
        }
      }
      top.properties()
          .forEach(
              e -> {
                if (!out.has(e.getKey())) {
                  out.set(e.getKey(), e.getValue());
                }
              });
      ArrayNode choices = out.putArray("choices");
      ObjectNode choice = choices.addObject();
      choice.put("index", 0);
      ObjectNode message = choice.putObject("message");
      message.put("role", "assistant");
      if (text.length() == 0 && (!tools.isEmpty() || refusal != null)) {
        message.putNull("content");
      } else {
        message.put("content", text.toString());
      }
      if (reasoning != null) {
        message.put(reasoningField, reasoning.toString());
      }
      if (refusal != null) {
        message.put("refusal", refusal.toString());
      }
      List<ToolCall> calls = new ArrayList<>(tools.size());
      if (!tools.isEmpty()) {
        ArrayNode tc = message.putArray("tool_calls");
        for (ToolCallBuilder b : tools) {
          ToolCall c = b.build();
          calls.add(c);
          ObjectNode n = tc.addObject();
          n.put("id", c.id());
          n.put("type", "function");
          ObjectNode fn = n.putObject("function");
          fn.put("name", c.name());
          fn.put("arguments", c.argumentsJson());
        }
      }
      if (finishReason != null) {
        choice.put("finish_reason", finishReason);
      } else {
        choice.putNull("finish_reason");
      }
      if (usage != null) {
        out.set("usage", usage);
      }
      return new Decoded(
          text.toString(),
          calls,
          Json.text(top, "id"),
          Json.text(top, "model"),
          finishReason,
          Codecs.openAiUsage(usage),
          Json.write(out));
    }
  }
}
