package dev.llmpool.llm;

import static dev.llmpool.llm.Wire.assertNoActiveConnection;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.llmpool.EventListener;
import dev.llmpool.LlmPool;
import dev.llmpool.MetricsSink;
import dev.llmpool.llm.Wire.Api;
import dev.llmpool.testkit.MockLlmServer;
import dev.llmpool.testkit.RecordedRequest;
import dev.llmpool.testkit.Reply;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The pool's chat settings reach the calls: options, executor, stream usage, keys. */
class ChatPoolOptionsTest {
  private static final List<Message> ASK = List.of(Message.user("hi"));

  @Test
  void defaultOptionsGoIntoEveryRequestAndPerCallOptionsWin() {
    try (MockLlmServer server = Wire.H2C.server().start();
        LlmPool pool = Wire.H2C.pool(server, Api.ANTHROPIC).build()) {
      ChatClient chat =
          pool.anthropicMessages(
              ChatOptions.builder()
                  .model("claude-a")
                  .temperature(0.25)
                  .systemPrompt("Be terse.")
                  .maxTokens(100)
                  .header("anthropic-beta", "test-beta")
                  .build());
      chat.complete(ASK);
      chat.complete(ASK, ChatOptions.builder().model("claude-b").maxTokens(7).build());
      RecordedRequest first = server.takeRequest();
      assertThat(first.model()).isEqualTo("claude-a");
      assertThat(first.bodyUtf8())
          .contains("\"temperature\":0.25")
          .contains("\"system\":\"Be terse.\"")
          .contains("\"max_tokens\":100");
      assertThat(first.header("anthropic-beta")).isEqualTo("test-beta");
      RecordedRequest second = server.takeRequest();
      assertThat(second.model()).isEqualTo("claude-b");
      assertThat(second.bodyUtf8()).contains("\"max_tokens\":7").contains("\"temperature\":0.25");
      assertNoActiveConnection(pool);
    }
  }

  @Test
  void asyncListenersRunOnTheChatExecutor() throws Exception {
    ExecutorService executor =
        Executors.newSingleThreadExecutor(r -> new Thread(r, "my-chat-executor"));
    try (MockLlmServer server = Wire.H2C.server().start();
        LlmPool pool = Wire.H2C.pool(server, Api.OPENAI).chatExecutor(executor).build()) {
      List<String> threads = new CopyOnWriteArrayList<>();
      pool.openAiChat("m")
          .streamAsync(ASK, t -> threads.add(Thread.currentThread().getName()))
          .get(20, TimeUnit.SECONDS);
      assertThat(threads).isNotEmpty().allMatch(n -> n.equals("my-chat-executor"));
      assertNoActiveConnection(pool);
    } finally {
      executor.shutdown();
      assertThat(executor.awaitTermination(20, TimeUnit.SECONDS)).isTrue();
    }
  }

  @Test
  void streamUsageCanBeTurnedOff() {
    try (MockLlmServer server = Wire.HTTP_1_1.server().start();
        LlmPool pool = Wire.HTTP_1_1.pool(server, Api.OPENAI).streamUsage(false).build()) {
      ChatResponse r = pool.openAiChat("m").stream(ASK, t -> {});
      assertThat(r.usage()).isNull();
      assertThat(server.takeRequest().bodyUtf8()).doesNotContain("stream_options");
      assertNoActiveConnection(pool);
    }
  }

  @Test
  void aPoolWithoutAKeySendsNone() {
    try (MockLlmServer server = MockLlmServer.builder().start();
        LlmPool pool = LlmPool.builder().baseUrl(server.baseUrl() + "/v1").build()) {
      // The mock wants a key, as OpenAI does; a local Ollama or vLLM would answer.
      assertThatThrownBy(() -> pool.openAiChat("m").complete(ASK))
          .isInstanceOf(AuthenticationException.class);
      RecordedRequest r = server.takeRequest();
      assertThat(r.header("authorization")).isNull();
      assertThat(r.header("api-key")).isNull();
      assertNoActiveConnection(pool);
    }
  }

  @Test
  void chatClientsNeedABaseUrlAndAModel() {
    try (LlmPool pool = LlmPool.builder().build()) {
      assertThatThrownBy(() -> pool.openAiChat("m"))
          .isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("baseUrl");
      assertThatThrownBy(() -> pool.anthropicMessages("m"))
          .isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("baseUrl");
      assertThatThrownBy(() -> pool.openAiChat(" ")).isInstanceOf(IllegalArgumentException.class);
    }
  }

  @Test
  void toBuilderKeepsTheChatSettings() {
    List<ChatObservation> seen = new CopyOnWriteArrayList<>();
    try (MockLlmServer server = Wire.HTTP_1_1.server().start();
        LlmPool original =
            Wire.HTTP_1_1
                .pool(server, Api.OPENAI)
                .retryPolicy(RetryPolicy.NONE)
                .chatObserver(seen::add)
                .build();
        LlmPool copy = original.toBuilder().build()) {
      server.enqueue(dev.llmpool.testkit.Reply.error(503));
      assertThatThrownBy(() -> copy.openAiChat("m").complete(ASK))
          .isInstanceOf(ServerErrorException.class);
      assertThat(server.requestCount()).as("RetryPolicy.NONE was kept").isEqualTo(1);
      assertThat(seen).as("the observer was kept").hasSize(1);
      assertNoActiveConnection(copy);
    }
  }

  @Test
  void aMetricsSinkHearsEveryChatCallAndItsRetriesBesidesTheUsersObserver() {
    List<ChatObservation> mine = new CopyOnWriteArrayList<>();
    List<ChatObservation> sinks = new CopyOnWriteArrayList<>();
    List<String> retries = new CopyOnWriteArrayList<>();
    MetricsSink sink =
        new MetricsSink() {
          @Override
          public ChatObserver chatObserver() {
            return sinks::add;
          }

          @Override
          public EventListener eventListener() {
            return new EventListener() {
              @Override
              public void retry(CallInfo call, String reason, Duration delay, int attempt) {
                retries.add(reason);
              }
            };
          }
        };
    try (MockLlmServer server = Wire.H2C.server().start();
        LlmPool pool =
            Wire.H2C
                .pool(server, Api.OPENAI)
                .retryPolicy(RetryPolicy.builder().maxRetries(1).build())
                .chatObserver(
                    o -> {
                      mine.add(o);
                      throw new IllegalStateException("the user's observer fails");
                    })
                .metrics(sink)
                .build()) {
      server.enqueue(Reply.error(503).toBuilder().retryAfter(Duration.ofMillis(1)).build());
      ChatResponse r = pool.openAiChat("m").complete(ASK);
      assertThat(r.attempts()).isEqualTo(2);
      Wire.until(() -> sinks.size() == 1);
      assertThat(mine).hasSize(1);
      assertThat(sinks.get(0)).isSameAs(mine.get(0));
      assertThat(sinks.get(0).usage()).isEqualTo(r.usage());
      assertThat(retries).as("the chat layer's retry reached the sink's listener").hasSize(1);
      assertNoActiveConnection(pool);
    }
  }

  @Test
  void aMetricsSinkWithoutAChatObserverLeavesChatCallsUnobserved() {
    try (MockLlmServer server = Wire.H2C.server().start();
        LlmPool pool = Wire.H2C.pool(server, Api.OPENAI).metrics(new MetricsSink() {}).build()) {
      assertThat(new MetricsSink() {}.chatObserver()).isNull();
      assertThat(pool.openAiChat("m").complete(ASK).text()).isNotEmpty();
      assertNoActiveConnection(pool);
    }
  }
}
