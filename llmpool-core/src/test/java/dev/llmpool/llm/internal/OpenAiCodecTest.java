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

class OpenAiCodecTest {
  private final OpenAiCodec codec = new OpenAiCodec(OpenAiCodec.MAX_TOKENS, true);

  private static JsonNode tree(byte[] body) throws IOException {
    return Json.parse(body, 0, body.length);
  }

  @Test
  void requestCarriesModelMessagesAndTypedOptions() throws IOException {
    ChatOptions o =
        ChatOptions.builder()
            .model("gpt-4o")
            .temperature(0.2)
            .maxTokens(256)
            .systemPrompt("Be brief.")
            .stopSequences("END", "STOP")
            .toolsJson("[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"parameters\":{}}}]")
            .responseFormatJson("{\"type\":\"json_object\"}")
            .build();
    JsonNode body = tree(codec.encode(List.of(Message.user("Hi")), o, false));
    assertThat(body)
        .isEqualTo(
            Json.parse(
                "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"system\",\"content\":\"Be brief.\"},"
                    + "{\"role\":\"user\",\"content\":\"Hi\"}],\"temperature\":0.2,\"max_tokens\":256,"
                    + "\"stop\":[\"END\",\"STOP\"],"
                    + "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"parameters\":{}}}],"
                    + "\"response_format\":{\"type\":\"json_object\"}}",
                "expected"));
  }

  @Test
  void streamRequestAsksForUsageUnlessTurnedOff() throws IOException {
    ChatOptions o = ChatOptions.model("m");
    JsonNode body = tree(codec.encode(List.of(Message.user("x")), o, true));
    assertThat(body.get("stream").asBoolean()).isTrue();
    assertThat(body.at("/stream_options/include_usage").asBoolean()).isTrue();
    JsonNode plain =
        tree(
            new OpenAiCodec(OpenAiCodec.MAX_TOKENS, false)
                .encode(List.of(Message.user("x")), o, true));
    assertThat(plain.has("stream_options")).isFalse();
  }

  @Test
  void openAisOwnApiGetsMaxCompletionTokens() throws IOException {
    JsonNode body =
        tree(
            new OpenAiCodec(OpenAiCodec.MAX_COMPLETION_TOKENS, true)
                .encode(
                    List.of(Message.user("x")),
                    ChatOptions.builder().model("o3").maxTokens(9).build(),
                    false));
    assertThat(body.get("max_completion_tokens").asInt()).isEqualTo(9);
    assertThat(body.has("max_tokens")).isFalse();
  }

  @Test
  void extraFieldsAreAddedAndWinOverTypedOnes() throws IOException {
    ChatOptions o =
        ChatOptions.builder()
            .model("m")
            .maxTokens(10)
            .extraJson(
                "{\"max_tokens\": 99, \"seed\": 7, \"stream_options\": {\"include_usage\": false}}")
            .extra("top_p", 0.5)
            .build();
    byte[] bytes = codec.encode(List.of(Message.user("x")), o, true);
    JsonNode body = tree(bytes);
    assertThat(body.get("max_tokens").asInt()).isEqualTo(99);
    assertThat(body.get("seed").asInt()).isEqualTo(7);
    assertThat(body.get("top_p").asDouble()).isEqualTo(0.5);
    assertThat(body.at("/stream_options/include_usage").asBoolean()).isFalse();
    // No key appears twice (a duplicate would be ambiguous to servers).
    assertThat(new String(bytes, UTF_8))
        .containsOnlyOnce("\"max_tokens\"")
        .containsOnlyOnce("\"stream_options\"");
  }

  @Test
  void toolCallsAndToolResultsUseOpenAisShapes() throws IOException {
    List<Message> messages =
        List.of(
            Message.user("weather?"),
            Message.assistant(
                null, List.of(new ToolCall("call_1", "get_weather", "{\"city\":\"Paris\"}"))),
            Message.toolResult("call_1", "18C"),
            Message.ofJson(Message.Role.USER, "[{\"type\":\"text\",\"text\":\"and images?\"}]"));
    JsonNode m = tree(codec.encode(messages, ChatOptions.model("m"), false)).get("messages");
    assertThat(m.get(1))
        .isEqualTo(
            Json.parse(
                "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"call_1\",\"type\":\"function\","
                    + "\"function\":{\"name\":\"get_weather\",\"arguments\":\"{\\\"city\\\":\\\"Paris\\\"}\"}}]}",
                "expected"));
    assertThat(m.get(2))
        .isEqualTo(
            Json.parse("{\"role\":\"tool\",\"tool_call_id\":\"call_1\",\"content\":\"18C\"}", "e"));
    assertThat(m.get(3).get("content").get(0).get("text").asText()).isEqualTo("and images?");
  }

  @Test
  void aRequestWithoutAModelIsRefused() {
    assertThatThrownBy(() -> codec.encode(List.of(Message.user("x")), ChatOptions.EMPTY, false))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("no model");
  }

  @Test
  void chatCompletionDecodesWithEveryFieldAndKeepsTheBodyExactly() throws IOException {
    byte[] body = Fixtures.bytes("openai-chat.json");
    Decoded d = codec.decode(body);
    assertThat(d.text()).isEqualTo("Hello! How can I assist you today?");
    assertThat(d.id()).isEqualTo("chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT");
    assertThat(d.model()).isEqualTo("gpt-4.1-2025-04-14");
    assertThat(d.finishReason()).isEqualTo("stop");
    assertThat(d.usage()).isEqualTo(new Usage(19, 10, 29, 4, 0, 2));
    assertThat(d.toolCalls()).isEmpty();
    assertThat(d.rawJson()).isEqualTo(new String(body, UTF_8)).contains("\"precision\": 1.10");
  }

  @Test
  void toolCallsDecode() throws IOException {
    Decoded d = codec.decode(Fixtures.bytes("openai-tool-calls.json"));
    assertThat(d.text()).isEmpty();
    assertThat(d.finishReason()).isEqualTo("tool_calls");
    assertThat(d.toolCalls())
        .containsExactly(
            new ToolCall(
                "call_abc123", "get_current_weather", "{\n\"location\": \"Boston, MA\"\n}"));
  }

  @Test
  void contentAsAnArrayOfPartsIsJoined() throws IOException {
    Decoded d =
        codec.decode(
            "{\"choices\":[{\"message\":{\"content\":[{\"type\":\"text\",\"text\":\"a\"},{\"type\":\"image\"},{\"type\":\"text\",\"text\":\"b\"}]}}]}"
                .getBytes(UTF_8));
    assertThat(d.text()).isEqualTo("ab");
    assertThat(d.usage()).isNull();
  }

  @Test
  void aBodyThatIsNotAChatCompletionIsAnIoError() {
    assertThatThrownBy(() -> codec.decode("{\"object\":\"list\"}".getBytes(UTF_8)))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("choices");
    assertThatThrownBy(() -> codec.decode("<html>".getBytes(UTF_8)))
        .isInstanceOf(IOException.class);
    assertThatThrownBy(() -> codec.decode("{\"choices\":[]} trailing".getBytes(UTF_8)))
        .isInstanceOf(IOException.class);
  }

  @Test
  void anErrorObjectSentWithA2xxIsAProviderError() {
    assertThatThrownBy(() -> codec.decode("{\"error\":{\"message\":\"boom\"}}".getBytes(UTF_8)))
        .isInstanceOf(ProviderErrorEvent.class);
  }

  @Test
  void streamDeliversDeltasInOrderAndFoldsIntoACompletion() throws IOException {
    Fixtures.RecordingSink sink = new Fixtures.RecordingSink();
    Decoded d = Fixtures.decodeStream(codec, Fixtures.bytes("openai-stream.sse"), sink);
    assertThat(sink.finished).isTrue();
    assertThat(sink.texts).containsExactly("Hello", " w\u00f6rld \uD83D\uDC4B");
    assertThat(d.text()).isEqualTo("Hello w\u00f6rld \uD83D\uDC4B");
    assertThat(d.finishReason()).isEqualTo("stop");
    assertThat(d.id()).isEqualTo("chatcmpl-123");
    assertThat(d.model()).isEqualTo("gpt-4o-mini");
    assertThat(d.usage()).isEqualTo(new Usage(9, 3, 12, 0, 0, 0));
    JsonNode raw = Json.parse(d.rawJson(), "raw");
    assertThat(raw.get("object").asText()).isEqualTo("chat.completion");
    assertThat(raw.get("system_fingerprint").asText()).isEqualTo("fp_44709d6fcb");
    assertThat(raw.get("x_chunk_extra").asText()).isEqualTo("kept");
    assertThat(raw.at("/choices/0/message/content").asText()).isEqualTo(d.text());
    assertThat(raw.at("/usage/total_tokens").asInt()).isEqualTo(12);
  }

  @Test
  void streamedToolCallsAreAssembledByIndexAndDeliveredAtTheFinishReason() throws IOException {
    Fixtures.RecordingSink sink = new Fixtures.RecordingSink();
    Decoded d = Fixtures.decodeStream(codec, Fixtures.bytes("openai-stream-tools.sse"), sink);
    List<ToolCall> expected =
        List.of(
            new ToolCall("call_1", "get_weather", "{\"location\": \"Paris\"}"),
            new ToolCall("call_2", "get_time", "{}"));
    assertThat(sink.toolCalls).isEqualTo(expected);
    assertThat(d.toolCalls()).isEqualTo(expected);
    assertThat(d.finishReason()).isEqualTo("tool_calls");
    JsonNode raw = Json.parse(d.rawJson(), "raw");
    assertThat(raw.at("/choices/0/message/content").isNull()).isTrue();
    assertThat(raw.at("/choices/0/message/tool_calls/0/function/arguments").asText())
        .isEqualTo("{\"location\": \"Paris\"}");
  }

  @Test
  void vllmReasoningAndNullChoicesUsageChunkAndNoDoneMarker() throws IOException {
    Fixtures.RecordingSink sink = new Fixtures.RecordingSink();
    StreamDecoder dec = codec.newStreamDecoder();
    byte[] stream = Fixtures.bytes("vllm-stream-no-done.sse");
    SseParser p =
        new SseParser(
            e -> {
              try {
                dec.onEvent(e, sink);
              } catch (IOException x) {
                throw new AssertionError(x);
              }
            });
    p.feed(stream, 0, stream.length);
    assertThat(p.finish()).isFalse();
    assertThat(dec.finished()).isFalse();
    assertThat(dec.completeWithoutEndMarker()).isTrue();
    Decoded d = dec.finish(sink);
    assertThat(sink.reasoning).containsExactly("Let me think.");
    assertThat(sink.texts).containsExactly("42");
    assertThat(d.usage()).isEqualTo(new Usage(5, 7, 12, 0, 0, 0));
    assertThat(Json.parse(d.rawJson(), "raw").at("/choices/0/message/reasoning_content").asText())
        .isEqualTo("Let me think.");
  }

  @Test
  void anErrorChunkIsAProviderErrorEvent() {
    Fixtures.RecordingSink sink = new Fixtures.RecordingSink();
    assertThatThrownBy(
            () ->
                Fixtures.decodeStream(
                    codec, Fixtures.bytes("openai-stream-error-before-text.sse"), sink))
        .isInstanceOf(ProviderErrorEvent.class)
        .satisfies(
            e ->
                assertThat(((ProviderErrorEvent) e).root().at("/error/code").asInt())
                    .isEqualTo(503));
    assertThat(sink.texts).isEmpty();
  }

  @Test
  void fieldOrderInsideAChoiceDoesNotMatterAndOtherChoicesAreNotStreamed() throws IOException {
    String stream =
        "data: {\"choices\":[{\"delta\":{\"content\":\"one\"},\"index\":1},{\"delta\":{\"content\":\"zero\"},\"finish_reason\":null,\"index\":0}]}\n\n"
            + "data: [DONE]\n\n";
    Fixtures.RecordingSink sink = new Fixtures.RecordingSink();
    Decoded d = Fixtures.decodeStream(codec, stream.getBytes(UTF_8), sink);
    assertThat(sink.texts).containsExactly("zero");
    assertThat(d.text()).isEqualTo("zero");
  }

  @Test
  void aChunkThatIsNotJsonIsAnIoError() {
    StreamDecoder dec = codec.newStreamDecoder();
    SseParser p =
        new SseParser(
            e -> {
              try {
                dec.onEvent(e, new Fixtures.RecordingSink());
              } catch (IOException x) {
                throw new java.io.UncheckedIOException(x);
              }
            });
    byte[] b = "data: {not json\n\n".getBytes(UTF_8);
    assertThatThrownBy(() -> p.feed(b, 0, b.length)).hasCauseInstanceOf(IOException.class);
  }
}
