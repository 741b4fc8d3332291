package dev.llmpool.llm.internal;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.llmpool.llm.ChatClient;
import dev.llmpool.llm.ChatOptions;
import dev.llmpool.llm.ChatResponse;
import dev.llmpool.llm.Message;
import dev.llmpool.llm.OpenAiAuth;
import dev.llmpool.llm.StreamListener;
import dev.llmpool.llm.ToolCall;
import dev.llmpool.llm.Usage;
import dev.llmpool.llm.internal.FakeLlmHttp.FakeResponse;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ChatClientTest extends ChatClientTestSupport {

  private static JsonNode body(LlmHttpRequest r) throws IOException {
    return Json.parse(r.body(), 0, r.body().length);
  }

  @Test
  void completeReturnsTheTextAndTheWholeResponse() {
    byte[] fixture = Fixtures.bytes("openai-chat.json");
    http.then(
        FakeResponse.json(200, new String(fixture, UTF_8))
            .header("x-request-id", "req_123")
            .header("x-ratelimit-remaining-requests", "4999")
            .header("x-ratelimit-reset-requests", "12ms")
            .onRead(() -> take(Duration.ofMillis(40))));
    http.onSend = () -> take(Duration.ofMillis(100));

    ChatResponse r = openAi().complete(HELLO);

    assertThat(r.text()).isEqualTo("Hello! How can I assist you today?");
    assertThat(r.id()).isEqualTo("chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT");
    assertThat(r.model()).isEqualTo("gpt-4.1-2025-04-14");
    assertThat(r.finishReason()).isEqualTo("stop");
    assertThat(r.usage()).isEqualTo(new Usage(19, 10, 29, 4, 0, 2));
    assertThat(r.requestId()).isEqualTo("req_123");
    assertThat(r.rateLimits().requests().remaining()).isEqualTo(OptionalLong.of(4999));
    assertThat(r.attempts()).isEqualTo(1);
    assertThat(r.timeToFirstByte()).isEqualTo(Duration.ofMillis(100));
    assertThat(r.latency()).isEqualTo(Duration.ofMillis(140));
    assertThat(r.timeToFirstToken()).isNull();
    assertThat(r.rawJson()).isEqualTo(new String(fixture, UTF_8)).contains("x_future_field");
  }

  @Test
  void theRequestIsAPostOfJsonWithTheKeyAsBearer() throws IOException {
    http.then(FakeResponse.json(200, Fixtures.text("openai-chat.json")));
    openAi()
        .complete(
            HELLO,
            ChatOptions.builder().temperature(0.0).header("openai-organization", "org-1").build());

    LlmHttpRequest req = http.requests.get(0);
    assertThat(req.method()).isEqualTo("POST");
    assertThat(req.uri().toString()).isEqualTo("https://api.openai.com/v1/chat/completions");
    assertThat(req.header("authorization")).isEqualTo("Bearer " + KEY);
    assertThat(req.header("content-type")).isEqualTo("application/json");
    assertThat(req.header("accept")).isEqualTo("application/json");
    assertThat(req.header("openai-organization")).isEqualTo("org-1");
    assertThat(req.streaming()).isFalse();
    assertThat(req.attempt()).isEqualTo(1);
    assertThat(req.deadlineNanos()).isEqualTo(Duration.ofMinutes(10).toNanos());
    JsonNode body = body(req);
    assertThat(body.get("model").asText()).isEqualTo("gpt-4o");
    assertThat(body.at("/messages/0/content").asText()).isEqualTo("Hello");
    assertThat(body.get("temperature").asDouble()).isZero();
    assertThat(body.has("stream")).isFalse();
  }

  @Test
  void anthropicCompleteSendsItsHeadersAndDecodesAMessage() throws IOException {
    http.then(
        FakeResponse.json(200, Fixtures.text("anthropic-message.json"))
            .header("request-id", "req_011")
            .header("anthropic-ratelimit-tokens-remaining", "96000"));
    ChatResponse r = anthropic().complete(List.of(Message.system("Be nice."), Message.user("Hi")));

    LlmHttpRequest req = http.requests.get(0);
    assertThat(req.uri().toString()).isEqualTo("https://api.anthropic.com/v1/messages");
    assertThat(req.header("x-api-key")).isEqualTo(KEY);
    assertThat(req.header("anthropic-version")).isEqualTo("2023-06-01");
    assertThat(req.header("authorization")).isNull();
    JsonNode body = body(req);
    assertThat(body.get("system").asText()).isEqualTo("Be nice.");
    assertThat(body.get("max_tokens").asInt()).isEqualTo(4096);
    assertThat(r.text()).isEqualTo("Hi! My name is Claude. How can I help?");
    assertThat(r.finishReason()).isEqualTo("end_turn");
    assertThat(r.requestId()).isEqualTo("req_011");
    assertThat(r.rateLimits().tokens().remaining()).isEqualTo(OptionalLong.of(96000));
  }

  @ParameterizedTest
  @ValueSource(ints = {1, 3, 17, 4096})
  void openAiStreamDeliversTokensInOrderAndReturnsTheWholeAnswer(int chunkSize) throws IOException {
    http.then(
        FakeResponse.sse(Fixtures.bytes("openai-stream.sse"), chunkSize)
            .onRead(() -> take(Duration.ofMillis(5))));
    http.onSend = () -> take(Duration.ofMillis(100));
    List<String> tokens = new ArrayList<>();

    ChatResponse r = openAi().stream(HELLO, tokens::add);

    assertThat(tokens).containsExactly("Hello", " w\u00f6rld \uD83D\uDC4B");
    assertThat(r.text()).isEqualTo("Hello w\u00f6rld \uD83D\uDC4B");
    assertThat(r.usage()).isEqualTo(new Usage(9, 3, 12, 0, 0, 0));
    assertThat(r.finishReason()).isEqualTo("stop");
    assertThat(r.timeToFirstByte()).isEqualTo(Duration.ofMillis(100));
    assertThat(r.timeToFirstToken()).isNotNull();
    assertThat(r.timeToFirstToken()).isGreaterThan(r.timeToFirstByte());
    assertThat(r.latency()).isGreaterThanOrEqualTo(r.timeToFirstToken());
    assertThat(Json.parse(r.rawJson(), "raw").get("x_chunk_extra").asText()).isEqualTo("kept");
    LlmHttpRequest req = http.requests.get(0);
    assertThat(req.streaming()).isTrue();
    assertThat(req.header("accept")).isEqualTo("text/event-stream");
    assertThat(body(req).at("/stream_options/include_usage").asBoolean()).isTrue();
  }

  @Test
  void anthropicStreamWithThinkingAndToolUse() {
    http.then(FakeResponse.sse(Fixtures.bytes("anthropic-stream-tools.sse"), 50));
    List<String> seen = new CopyOnWriteArrayList<>();
    StreamListener listener =
        new StreamListener() {
          @Override
          public void onText(String text) {
            seen.add("text:" + text);
          }

          @Override
          public void onReasoning(String text) {
            seen.add("reasoning:" + text);
          }

          @Override
          public void onToolCall(ToolCall call) {
            seen.add("tool:" + call.name() + call.argumentsJson());
          }
        };

    ChatResponse r = anthropic().stream(HELLO, listener);

    assertThat(seen)
        .containsExactly(
            "reasoning:The user wants weather.",
            "text:Okay, let me check.",
            "tool:get_weather{\"location\":\"San Francisco, CA\"}");
    assertThat(r.toolCalls()).hasSize(1);
    assertThat(r.finishReason()).isEqualTo("tool_use");
  }

  @Test
  void aListenerThatOverridesOnEventSeesEveryRawEvent() {
    http.then(FakeResponse.sse(Fixtures.bytes("anthropic-stream.sse"), 64));
    List<String> types = new ArrayList<>();
    anthropic().stream(
        HELLO,
        new StreamListener() {
          @Override
          public void onText(String text) {}

          @Override
          public void onEvent(String type, String data) {
            types.add(type);
            assertThat(data).startsWith("{");
          }
        });
    assertThat(types)
        .containsExactly(
            "message_start",
            "content_block_start",
            "ping",
            "content_block_delta",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop");
  }

  @Test
  void blockingStreamRunsTheListenerOnTheCallingThread() throws Exception {
    FakeResponse stream = FakeResponse.manualSse();
    http.then(stream);
    List<String> threads = new CopyOnWriteArrayList<>();
    List<String> tokens = new CopyOnWriteArrayList<>();
    List<String> events = Fixtures.events("openai-stream.sse");
    Thread io =
        new Thread(
            () -> {
              for (String e : events) {
                stream.push(e);
              }
              stream.end();
            },
            "fake-io");
    http.onSend = io::start;

    ChatResponse r =
        openAi().stream(
            HELLO,
            t -> {
              threads.add(Thread.currentThread().getName());
              tokens.add(t);
            });

    io.join(TimeUnit.SECONDS.toMillis(30));
    assertThat(r.text()).isEqualTo(String.join("", tokens));
    assertThat(threads).hasSize(2).allMatch(n -> n.equals(Thread.currentThread().getName()));
  }

  @Test
  void asyncCompleteCompletesTheFutureWithTheSameAnswer() {
    http.then(FakeResponse.json(200, Fixtures.text("openai-chat.json")));
    CompletableFuture<ChatResponse> f = openAi().completeAsync(HELLO);
    assertThat(f).isCompleted();
    assertThat(f.join().text()).isEqualTo("Hello! How can I assist you today?");
  }

  @Test
  void asyncStreamDeliversChunksAsTheyArrive() {
    FakeResponse stream = FakeResponse.manualSse();
    http.then(stream);
    List<String> tokens = new ArrayList<>();
    CompletableFuture<ChatResponse> f = anthropic().streamAsync(HELLO, tokens::add);
    List<String> events = Fixtures.events("anthropic-stream.sse");
    for (int i = 0; i < 4; i++) {
      stream.push(events.get(i));
    }
    assertThat(tokens).containsExactly("Hello");
    assertThat(f).isNotDone();
    for (int i = 4; i < events.size(); i++) {
      stream.push(events.get(i));
    }
    // message_stop finishes the answer; it waits a little for the body's end (which releases the
    // connection), then goes to the caller anyway, the end being read afterwards.
    assertThat(f).isNotDone();
    manual.advance(Duration.ofNanos(ChatCall.TAIL_GRACE_NANOS - 1));
    assertThat(f).isNotDone();
    manual.advance(Duration.ofNanos(1));
    assertThat(f).isCompleted();
    assertThat(stream.released()).isFalse();
    stream.end();
    assertThat(stream.ended()).isTrue();
    assertThat(stream.closed()).isTrue();
    assertThat(f.join().text()).isEqualTo("Hello w\u00f6rld");
  }

  @Test
  void aStreamWhoseBodyEndsRightAfterItsEndMarkerIsReleasedBeforeTheCallerHearsOfIt() {
    FakeResponse stream = FakeResponse.manualSse();
    http.then(stream);
    CompletableFuture<ChatResponse> f = anthropic().streamAsync(HELLO, t -> {});
    for (String e : Fixtures.events("anthropic-stream.sse")) {
      stream.push(e);
    }
    assertThat(f).isNotDone();
    stream.end();
    assertThat(f).isCompleted();
    assertThat(stream.ended()).isTrue();
    assertThat(f.join().text()).isEqualTo("Hello w\u00f6rld");
    assertThat(manual.pendingTasks()).as("the grace timer is cancelled").isZero();
  }

  @Test
  void aStreamRequestAnsweredWithWholeJsonIsDeliveredInOnePiece() {
    http.then(FakeResponse.json(200, Fixtures.text("openai-chat.json")));
    List<String> tokens = new ArrayList<>();
    ChatResponse r = openAi().stream(HELLO, tokens::add);
    assertThat(tokens).containsExactly("Hello! How can I assist you today?");
    assertThat(r.timeToFirstToken()).isNotNull();
  }

  @Test
  void aCompleteAnsweredWithAnEventStreamIsFoldedIntoTheAnswer() {
    // E.g. "stream": true forced through the extra fields.
    http.then(FakeResponse.sse(Fixtures.bytes("anthropic-stream.sse"), 1 << 20));
    ChatResponse r =
        anthropic().complete(HELLO, ChatOptions.builder().extra("stream", true).build());
    assertThat(r.text()).isEqualTo("Hello w\u00f6rld");
    assertThat(r.finishReason()).isEqualTo("end_turn");
    assertThat(r.timeToFirstToken()).isNull();
  }

  @Test
  void aVllmStreamThatEndsWithoutDoneAfterItsFinishReasonSucceeds() {
    http.then(FakeResponse.sse(Fixtures.bytes("vllm-stream-no-done.sse"), 16));
    List<String> reasoning = new ArrayList<>();
    ChatResponse r =
        openAi().stream(
            HELLO,
            new StreamListener() {
              @Override
              public void onText(String text) {}

              @Override
              public void onReasoning(String text) {
                reasoning.add(text);
              }
            });
    assertThat(r.text()).isEqualTo("42");
    assertThat(reasoning).containsExactly("Let me think.");
  }

  @Test
  void callOptionsAreLaidOverTheDefaults() throws IOException {
    http.then(FakeResponse.json(200, Fixtures.text("openai-chat.json")));
    http.then(FakeResponse.json(200, Fixtures.text("openai-chat.json")));
    ChatClient tuned =
        openAi().withOptions(ChatOptions.builder().temperature(0.3).maxTokens(10).build());
    assertThat(tuned.defaultOptions().model()).isEqualTo("gpt-4o");
    tuned.complete(HELLO, ChatOptions.builder().model("gpt-4o-mini").maxTokens(20).build());
    tuned.complete(HELLO);
    JsonNode first = body(http.requests.get(0));
    assertThat(first.get("model").asText()).isEqualTo("gpt-4o-mini");
    assertThat(first.get("temperature").asDouble()).isEqualTo(0.3);
    assertThat(first.get("max_completion_tokens").asInt()).isEqualTo(20);
    JsonNode second = body(http.requests.get(1));
    assertThat(second.get("model").asText()).isEqualTo("gpt-4o");
    assertThat(second.get("max_completion_tokens").asInt()).isEqualTo(10);
  }

  @Test
  void badInputIsRefusedBeforeAnythingIsSent() {
    DefaultChatClient noModel =
        new DefaultChatClient(
            ChatEndpoint.openAi("http://localhost:11434/v1", null, OpenAiAuth.AUTO, true),
            http,
            ChatOptions.EMPTY,
            settings());
    assertThatThrownBy(() -> noModel.complete(HELLO))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("no model");
    assertThatThrownBy(() -> openAi().complete(List.of()))
        .isInstanceOf(IllegalArgumentException.class);
    assertThat(http.requests).isEmpty();
  }

  @Test
  void toStringsShowNoSecret() {
    http.then(FakeResponse.json(200, Fixtures.text("openai-chat.json")));
    DefaultChatClient chat = openAi();
    chat.complete(HELLO, ChatOptions.builder().header("x-other-key", "hidden-value-123").build());
    assertThat(chat.toString()).doesNotContain(KEY).contains("api.openai.com");
    assertThat(http.requests.get(0).toString())
        .doesNotContain(KEY)
        .doesNotContain("hidden-value-123")
        .contains("authorization");
    assertThat(ChatOptions.builder().header("authorization", "Bearer " + KEY).build().toString())
        .doesNotContain(KEY);
  }
}
