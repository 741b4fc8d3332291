package dev.llmpool.llm.internal;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.llmpool.llm.ChatOptions;
import dev.llmpool.llm.Message;
import dev.llmpool.llm.ToolCall;
import dev.llmpool.llm.Usage;
import java.io.IOException;
import java.util.List;
import org.junit.jupiter.api.Test;

class AnthropicCodecTest {
  private final AnthropicCodec codec = new AnthropicCodec();

  private static JsonNode tree(byte[] body) throws IOException {
    return Json.parse(body, 0, body.length);
  }

  @Test
  void systemIsATopLevelFieldAndMaxTokensIsAlwaysSent() throws IOException {
    ChatOptions o =
        ChatOptions.builder()
            .model("claude-sonnet-4-5")
            .systemPrompt("Be brief.")
            .stopSequences("END")
            .temperature(0.5)
            .build();
    JsonNode body =
        tree(
            codec.encode(
                List.of(Message.system("Answer in French."), Message.user("Hi")), o, true));
    assertThat(body)
        .isEqualTo(
            Json.parse(
                "{\"model\":\"claude-sonnet-4-5\",\"max_tokens\":4096,"
                    + "\"system\":\"Be brief.\\n\\nAnswer in French.\","
                    + "\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],"
                    + "\"temperature\":0.5,\"stop_sequences\":[\"END\"],\"stream\":true}",
                "expected"));
  }

  @Test
  void systemBecomesBlocksWhenAnyPartIsJson() throws IOException {
    List<Message> m =
        List.of(
            Message.ofJson(
                Message.Role.SYSTEM,
                "[{\"type\":\"text\",\"text\":\"cached\",\"cache_control\":{\"type\":\"ephemeral\"}}]"),
            Message.user("Hi"));
    JsonNode system =
        tree(codec.encode(m, ChatOptions.builder().model("c").systemPrompt("first").build(), false))
            .get("system");
    assertThat(system)
        .isEqualTo(
            Json.parse(
                "[{\"type\":\"text\",\"text\":\"first\"},"
                    + "{\"type\":\"text\",\"text\":\"cached\",\"cache_control\":{\"type\":\"ephemeral\"}}]",
                "e"));
  }

  @Test
  void toolCallsBecomeToolUseBlocksAndConsecutiveResultsShareOneUserMessage() throws IOException {
    List<Message> m =
        List.of(
            Message.user("weather and time?"),
            Message.assistant(
                "Checking.",
                List.of(
                    new ToolCall("toolu_1", "get_weather", "{\"city\":\"Paris\"}"),
                    new ToolCall("toolu_2", "get_time", ""))),
            Message.toolResult("toolu_1", "18C"),
            Message.toolResult("toolu_2", "noon"),
            Message.user("thanks"));
    JsonNode messages = tree(codec.encode(m, ChatOptions.model("c"), false)).get("messages");
    assertThat(messages.size()).isEqualTo(4);
    assertThat(messages.get(1))
        .isEqualTo(
            Json.parse(
                "{\"role\":\"assistant\",\"content\":[{\"type\":\"text\",\"text\":\"Checking.\"},"
                    + "{\"type\":\"tool_use\",\"id\":\"toolu_1\",\"name\":\"get_weather\",\"input\":{\"city\":\"Paris\"}},"
                    + "{\"type\":\"tool_use\",\"id\":\"toolu_2\",\"name\":\"get_time\",\"input\":{}}]}",
                "e"));
    assertThat(messages.get(2))
        .isEqualTo(
            Json.parse(
                "{\"role\":\"user\",\"content\":["
                    + "{\"type\":\"tool_result\",\"tool_use_id\":\"toolu_1\",\"content\":\"18C\"},"
                    + "{\"type\":\"tool_result\",\"tool_use_id\":\"toolu_2\",\"content\":\"noon\"}]}",
                "e"));
  }

  @Test
  void toolCallArgumentsThatAreNotAnObjectAreRefused() {
    List<Message> m =
        List.of(
            Message.assistant(null, List.of(new ToolCall("t", "f", "[1,2]"))), Message.user("x"));
    assertThatThrownBy(() -> codec.encode(m, ChatOptions.model("c"), false))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("must be a JSON object");
  }

  @Test
  void openAiShapedToolsAndResponseFormatAreConverted() throws IOException {
    ChatOptions o =
        ChatOptions.builder()
            .model("c")
            .toolsJson(
                "[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"description\":\"Weather\","
                    + "\"parameters\":{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}}}}},"
                    + "{\"type\":\"web_search_20250305\",\"name\":\"web_search\"}]")
            .responseFormatJson(
                "{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"x\",\"schema\":{\"type\":\"object\"}}}")
            .build();
    JsonNode body = tree(codec.encode(List.of(Message.user("x")), o, false));
    assertThat(body.get("tools"))
        .isEqualTo(
            Json.parse(
                "[{\"name\":\"get_weather\",\"description\":\"Weather\",\"input_schema\":"
                    + "{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}}}},"
                    + "{\"type\":\"web_search_20250305\",\"name\":\"web_search\"}]",
                "e"));
    assertThat(body.get("output_config"))
        .isEqualTo(
            Json.parse(
                "{\"format\":{\"type\":\"json_schema\",\"schema\":{\"type\":\"object\"}}}", "e"));
  }

  @Test
  void extraFieldsWin() throws IOException {
    ChatOptions o =
        ChatOptions.builder()
            .model("c")
            .maxTokens(5)
            .extraJson(
                "{\"max_tokens\": 64000, \"thinking\": {\"type\": \"enabled\", \"budget_tokens\": 2048}}")
            .build();
    byte[] bytes = codec.encode(List.of(Message.user("x")), o, false);
    JsonNode body = tree(bytes);
    assertThat(body.get("max_tokens").asInt()).isEqualTo(64000);
    assertThat(body.at("/thinking/budget_tokens").asInt()).isEqualTo(2048);
    assertThat(new String(bytes, UTF_8)).containsOnlyOnce("max_tokens");
  }

  @Test
  void messageDecodesAndKeepsTheBodyExactly() throws IOException {
    byte[] body = Fixtures.bytes("anthropic-message.json");
    Decoded d = codec.decode(body);
    assertThat(d.text()).isEqualTo("Hi! My name is Claude. How can I help?");
    assertThat(d.id()).isEqualTo("msg_013Zva2CMHLNnXjNJJKqJ2EF");
    assertThat(d.model()).isEqualTo("claude-sonnet-4-5-20250929");
    assertThat(d.finishReason()).isEqualTo("end_turn");
    // input counts every input token, cache reads and writes included, to compare with OpenAI's.
    assertThat(d.usage()).isEqualTo(new Usage(2205, 503, 2708, 100, 10, 0));
    assertThat(d.rawJson()).isEqualTo(new String(body, UTF_8));
  }

  @Test
  void toolUseDecodes() throws IOException {
    Decoded d = codec.decode(Fixtures.bytes("anthropic-tool-use.json"));
    assertThat(d.text()).isEqualTo("I'll check the weather.");
    assertThat(d.finishReason()).isEqualTo("tool_use");
    assertThat(d.toolCalls())
        .containsExactly(
            new ToolCall(
                "toolu_01A09q90qw90lq917835lq9",
                "get_weather",
                "{\"location\":\"San Francisco, CA\",\"unit\":\"celsius\"}"));
  }

  @Test
  void anErrorBodyWithA2xxIsAProviderError() {
    assertThatThrownBy(
            () ->
                codec.decode(
                    "{\"type\":\"error\",\"error\":{\"type\":\"api_error\",\"message\":\"x\"}}"
                        .getBytes(UTF_8)))
        .isInstanceOf(ProviderErrorEvent.class);
    assertThatThrownBy(() -> codec.decode("{\"type\":\"message\"}".getBytes(UTF_8)))
        .isInstanceOf(IOException.class);
  }

  @Test
  void streamDeliversTextAndFoldsIntoAMessage() throws IOException {
    Fixtures.RecordingSink sink = new Fixtures.RecordingSink();
    Decoded d = Fixtures.decodeStream(codec, Fixtures.bytes("anthropic-stream.sse"), sink);
    assertThat(sink.finished).isTrue();
    assertThat(sink.texts).containsExactly("Hello", " w\u00f6rld");
    assertThat(d.text()).isEqualTo("Hello w\u00f6rld");
    assertThat(d.finishReason()).isEqualTo("end_turn");
    assertThat(d.id()).isEqualTo("msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY");
    assertThat(d.usage()).isEqualTo(new Usage(25, 15, 40, 0, 0, 0));
    JsonNode raw = Json.parse(d.rawJson(), "raw");
    assertThat(raw.get("x_future_field").asText()).isEqualTo("kept");
    assertThat(raw.get("stop_reason").asText()).isEqualTo("end_turn");
    assertThat(raw.at("/content/0/text").asText()).isEqualTo("Hello w\u00f6rld");
    assertThat(raw.at("/usage/output_tokens").asInt()).isEqualTo(15);
  }

  @Test
  void streamWithThinkingAndToolUse() throws IOException {
    Fixtures.RecordingSink sink = new Fixtures.RecordingSink();
    Decoded d = Fixtures.decodeStream(codec, Fixtures.bytes("anthropic-stream-tools.sse"), sink);
    assertThat(sink.reasoning).containsExactly("The user wants weather.");
    assertThat(sink.texts).containsExactly("Okay, let me check.");
    ToolCall call =
        new ToolCall(
            "toolu_01T1x1fJ34qAmk2tNTrN7Up6",
            "get_weather",
            "{\"location\":\"San Francisco, CA\"}");
    assertThat(sink.toolCalls).containsExactly(call);
    assertThat(d.toolCalls()).containsExactly(call);
    assertThat(d.finishReason()).isEqualTo("tool_use");
    JsonNode content = Json.parse(d.rawJson(), "raw").get("content");
    assertThat(content.size()).isEqualTo(3);
    assertThat(content.at("/0/signature").asText()).startsWith("EqQB");
    assertThat(content.at("/2/input/location").asText()).isEqualTo("San Francisco, CA");
  }

  @Test
  void anErrorEventIsAProviderErrorEvent() {
    Fixtures.RecordingSink sink = new Fixtures.RecordingSink();
    assertThatThrownBy(
            () -> Fixtures.decodeStream(codec, Fixtures.bytes("anthropic-stream-error.sse"), sink))
        .isInstanceOf(ProviderErrorEvent.class)
        .satisfies(
            e ->
                assertThat(((ProviderErrorEvent) e).root().at("/error/type").asText())
                    .isEqualTo("overloaded_error"));
  }

  @Test
  void eventsWithoutEventNamesAreDispatchedByTheirDataType() throws IOException {
    String stream = Fixtures.text("anthropic-stream.sse").replaceAll("(?m)^event: .*\\n", "");
    Fixtures.RecordingSink sink = new Fixtures.RecordingSink();
    Decoded d = Fixtures.decodeStream(codec, stream.getBytes(UTF_8), sink);
    assertThat(sink.finished).isTrue();
    assertThat(d.text()).isEqualTo("Hello w\u00f6rld");
  }
}
