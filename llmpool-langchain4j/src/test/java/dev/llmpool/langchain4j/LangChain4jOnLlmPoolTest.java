package dev.llmpool.langchain4j;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.langchain4j.exception.AuthenticationException;
import dev.langchain4j.exception.NonRetriableException;
import dev.langchain4j.exception.RateLimitException;
import dev.langchain4j.http.client.HttpClientBuilderLoader;
import dev.langchain4j.http.client.HttpMethod;
import dev.langchain4j.http.client.HttpRequest;
import dev.langchain4j.http.client.sse.ServerSentEvent;
import dev.langchain4j.http.client.sse.ServerSentEventContext;
import dev.langchain4j.http.client.sse.ServerSentEventListener;
import dev.langchain4j.http.client.sse.ServerSentEventParser;
import dev.langchain4j.model.anthropic.AnthropicChatModel;
import dev.langchain4j.model.anthropic.AnthropicStreamingChatModel;
import dev.langchain4j.model.chat.ChatModel;
import dev.langchain4j.model.chat.StreamingChatModel;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.chat.response.StreamingChatResponseHandler;
import dev.langchain4j.model.openai.OpenAiChatModel;
import dev.langchain4j.model.openai.OpenAiStreamingChatModel;
import dev.llmpool.ConnectionLostException;
import dev.llmpool.LlmPool;
import dev.llmpool.LlmPoolException;
import dev.llmpool.testkit.Fault;
import dev.llmpool.testkit.MockLlmServer;
import dev.llmpool.testkit.Reply;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * LangChain4j's own models (OpenAI and Anthropic, blocking and streaming) on llmpool, found through
 * the HTTP client SPI (no {@code httpClientBuilder} given), against the testkit's mock server over
 * HTTP/1.1, h2c and h2 (TLS).
 */
class LangChain4jOnLlmPoolTest {
  private MockLlmServer server;
  private LlmPool pool;

  private void start(Proto p) {
    start(p, p.server());
  }

  private void start(Proto p, MockLlmServer.Builder sb) {
    server = sb.start();
    pool = p.pool(server).build();
    LlmPoolLangChain4j.useDefaultPool(pool);
  }

  @AfterEach
  void tearDown() {
    LlmPoolLangChain4j.clearDefaultPool();
    try {
      if (pool != null) {
        Await.until(
            () -> pool.stats().active() == 0 && pool.stats().inFlightExchanges() == 0,
            () -> "an idle pool, got " + pool.stats());
      }
    } finally {
      if (pool != null) {
        pool.close();
      }
      if (server != null) {
        server.close();
      }
    }
  }

  private ChatModel openAi(int maxRetries) {
    return OpenAiChatModel.builder()
        .baseUrl(server.url("/v1").toString())
        .apiKey("sk-test")
        .modelName("gpt-4o")
        .maxRetries(maxRetries)
        .build();
  }

  private StreamingChatModel openAiStreaming() {
    return OpenAiStreamingChatModel.builder()
        .baseUrl(server.url("/v1").toString())
        .apiKey("sk-test")
        .modelName("gpt-4o")
        .build();
  }

  private ChatModel anthropic(String key, int maxRetries) {
    return AnthropicChatModel.builder()
        .baseUrl(server.baseUrl() + "/v1/")
        .apiKey(key)
        .modelName("claude-sonnet-4-5")
        .maxTokens(1024)
        .maxRetries(maxRetries)
        .build();
  }

  private StreamingChatModel anthropicStreaming() {
    return AnthropicStreamingChatModel.builder()
        .baseUrl(server.baseUrl() + "/v1/")
        .apiKey("sk-ant-test")
        .modelName("claude-sonnet-4-5")
        .maxTokens(1024)
        .build();
  }

  /** A streaming call's outcome: its pieces, and how it ended. */
  private static final class Collected implements StreamingChatResponseHandler {
    final List<String> pieces = new CopyOnWriteArrayList<>();
    final CompletableFuture<ChatResponse> done = new CompletableFuture<>();

    @Override
    public void onPartialResponse(String partialResponse) {
      pieces.add(partialResponse);
    }

    @Override
    public void onCompleteResponse(ChatResponse completeResponse) {
      done.complete(completeResponse);
    }

    @Override
    public void onError(Throwable error) {
      done.completeExceptionally(error);
    }

    ChatResponse await() throws Exception {
      return done.get(30, TimeUnit.SECONDS);
    }

    Throwable awaitError() throws Exception {
      try {
        done.get(30, TimeUnit.SECONDS);
      } catch (ExecutionException e) {
        return e.getCause();
      }
      throw new AssertionError("the stream did not fail");
    }
  }

  private static Throwable root(Throwable t) {
    Throwable r = t;
    while (r.getCause() != null && r.getCause() != r) {
      r = r.getCause();
    }
    return r;
  }

  @Test
  void langChain4jFindsLlmPoolThroughItsSpi() {
    assertThat(HttpClientBuilderLoader.loadHttpClientBuilder())
        .isInstanceOf(LlmPoolHttpClientBuilder.class);
  }

  @ParameterizedTest
  @EnumSource(Proto.class)
  void twentyOpenAiChatsShareOneConnection(Proto p) {
    start(p);
    ChatModel model = openAi(0);
    for (int i = 0; i < 20; i++) {
      assertThat(model.chat("hello " + i)).isEqualTo("Mock reply to: hello " + i);
    }
    assertThat(server.stats().connectionsAccepted()).isEqualTo(1);
    assertThat(server.requests()).hasSize(20).allMatch(r -> r.protocol() == p.protocol());
    assertThat(pool.stats().opened()).isEqualTo(1);
  }

  @ParameterizedTest
  @EnumSource(Proto.class)
  void anOpenAiStreamArrivesInPiecesOverTheSameConnection(Proto p) throws Exception {
    start(p);
    StreamingChatModel model = openAiStreaming();
    for (int round = 0; round < 3; round++) {
      Collected c = new Collected();
      model.chat("stream me please " + round, c);
      assertThat(c.await().aiMessage().text())
          .isEqualTo("Mock reply to: stream me please " + round);
      assertThat(c.pieces).hasSizeGreaterThanOrEqualTo(5);
      assertThat(String.join("", c.pieces)).isEqualTo("Mock reply to: stream me please " + round);
    }
    assertThat(server.stats().connectionsAccepted()).isEqualTo(1);
  }

  @ParameterizedTest
  @EnumSource(Proto.class)
  void streamedPiecesArriveBeforeACutStreamFails(Proto p) throws Exception {
    start(p);
    server.enqueue(Reply.fault(Fault.CLOSE_CONNECTION_MID_BODY));
    Collected c = new Collected();
    openAiStreaming().chat("one two three four five six seven eight", c);
    Throwable error = c.awaitError();
    assertThat(c.pieces).hasSizeGreaterThanOrEqualTo(3);
    assertThat(root(error)).isInstanceOf(ConnectionLostException.class);
  }

  @ParameterizedTest
  @EnumSource(Proto.class)
  void anthropicMessagesAndStreamsRideOneConnection(Proto p) throws Exception {
    start(p);
    ChatModel model = anthropic("sk-ant-test", 0);
    for (int i = 0; i < 10; i++) {
      assertThat(model.chat("hello " + i)).isEqualTo("Mock reply to: hello " + i);
    }
    Collected c = new Collected();
    anthropicStreaming().chat("stream me please", c);
    assertThat(c.await().aiMessage().text()).isEqualTo("Mock reply to: stream me please");
    assertThat(c.pieces).hasSizeGreaterThanOrEqualTo(3);
    assertThat(server.stats().connectionsAccepted()).isEqualTo(1);
    assertThat(server.requests())
        .allSatisfy(r -> assertThat(r.header("x-api-key")).isEqualTo("sk-ant-test"));
  }

  @ParameterizedTest
  @EnumSource(Proto.class)
  void errorsAreLangChain4jsTypesAndKeepTheResponseHeaders(Proto p) {
    start(p, p.server().apiKey("sk-ant-right"));
    assertThatThrownBy(() -> anthropic("sk-ant-wrong", 0).chat("hi"))
        .isInstanceOf(AuthenticationException.class)
        .satisfies(
            e -> assertThat(((LlmPoolHttpException) e.getCause()).statusCode()).isEqualTo(401));

    server.enqueue(Reply.error(429).toBuilder().retryAfter(Duration.ofSeconds(2)).build());
    assertThatThrownBy(() -> anthropic("sk-ant-right", 0).chat("limited"))
        .isInstanceOf(RateLimitException.class)
        .satisfies(
            e -> {
              LlmPoolHttpException http = (LlmPoolHttpException) e.getCause();
              assertThat(http.statusCode()).isEqualTo(429);
              assertThat(http.retryAfter()).contains(Duration.ofSeconds(2));
              assertThat(http.header("Retry-After")).isEqualTo("2");
              assertThat(http.header("anthropic-ratelimit-requests-remaining")).isEqualTo("0");
              assertThat(http.body()).contains("rate_limit_error");
            });
  }

  @ParameterizedTest
  @EnumSource(Proto.class)
  void aStreamAnsweredWithAnErrorStatusFailsWithItsHeaders(Proto p) throws Exception {
    start(p);
    server.enqueue(Reply.error(429).toBuilder().retryAfter(Duration.ofMillis(1500)).build());
    Collected c = new Collected();
    openAiStreaming().chat("limited", c);
    Throwable root = root(c.awaitError());
    assertThat(root).isInstanceOf(LlmPoolHttpException.class);
    assertThat(((LlmPoolHttpException) root).retryAfter()).contains(Duration.ofMillis(1500));
    assertThat(c.pieces).isEmpty();
  }

  @ParameterizedTest
  @EnumSource(Proto.class)
  void aCallTheServerMayHaveProcessedIsNotRetriedByLangChain4j(Proto p) {
    start(p);
    server.enqueue(Reply.fault(Fault.DISCONNECT_AFTER_REQUEST));
    assertThatThrownBy(() -> openAi(2).chat("bill me once"))
        .isInstanceOf(NonRetriableException.class)
        .satisfies(
            e ->
                assertThat(((LlmPoolException) e.getCause()).requestMayHaveBeenProcessed())
                    .isTrue());
    assertThat(server.requests()).hasSize(1);
  }

  @ParameterizedTest
  @EnumSource(Proto.class)
  void retryPossiblyProcessedLetsLangChain4jRetryIt(Proto p) {
    start(p);
    server.enqueue(Reply.fault(Fault.DISCONNECT_AFTER_REQUEST));
    ChatModel model =
        OpenAiChatModel.builder()
            .httpClientBuilder(LlmPoolHttpClient.builder().pool(pool).retryPossiblyProcessed(true))
            .baseUrl(server.url("/v1").toString())
            .apiKey("sk-test")
            .modelName("gpt-4o")
            .maxRetries(1)
            .build();
    assertThat(model.chat("at least once")).isEqualTo("Mock reply to: at least once");
    assertThat(server.requests()).hasSize(2);
  }

  @ParameterizedTest
  @EnumSource(Proto.class)
  void cancellingAStreamFromTheListenerEndsIt(Proto p) throws Exception {
    start(p);
    server.enqueue(
        Reply.text("a b c d e f g h i j k l m n o p q r s t u v w x y z").toBuilder()
            .tokensPerSecond(50)
            .build());
    List<String> events = new CopyOnWriteArrayList<>();
    CompletableFuture<Void> cancelled = new CompletableFuture<>();
    LlmPoolHttpClient client = LlmPoolHttpClient.builder().pool(pool).build();
    client.execute(
        streamRequest("cancel me"),
        new ServerSentEventListener() {
          @Override
          public void onEvent(ServerSentEvent event, ServerSentEventContext context) {
            events.add(event.data());
            if (events.size() == 2) {
              context.parsingHandle().cancel();
              cancelled.complete(null);
            }
          }

          @Override
          public void onError(Throwable throwable) {
            cancelled.completeExceptionally(throwable);
          }
        });
    cancelled.get(30, TimeUnit.SECONDS);
    // The exchange is abandoned (the tearDown checks nothing stays leased) and no event follows.
    Await.until(() -> pool.stats().active() == 0, () -> "released, got " + pool.stats());
    assertThat(events).hasSize(2);
  }

  private HttpRequest streamRequest(String prompt) {
    return HttpRequest.builder()
        .method(HttpMethod.POST)
        .url(server.url("/v1/chat/completions").toString())
        .addHeader("Authorization", "Bearer sk-test")
        .addHeader("Content-Type", "application/json")
        .body(
            "{\"model\":\"m\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\""
                + prompt
                + "\"}]}")
        .build();
  }

  @ParameterizedTest
  @EnumSource(
      value = Proto.class,
      names = {"HTTP_1_1", "H2C"})
  void aParserOfYourOwnReadsTheBodyAsAStream(Proto p) throws Exception {
    start(p);
    List<String> lines = new ArrayList<>();
    CompletableFuture<Void> closed = new CompletableFuture<>();
    ServerSentEventParser lineParser =
        (body, listener) -> {
          try (BufferedReader r =
              new BufferedReader(new InputStreamReader(body, StandardCharsets.UTF_8))) {
            for (String line; (line = r.readLine()) != null; ) {
              if (line.startsWith("data: ")) {
                lines.add(line.substring(6));
              }
            }
          } catch (IOException e) {
            throw new UncheckedIOException(e);
          }
        };
    LlmPoolHttpClient.builder()
        .pool(pool)
        .build()
        .execute(
            streamRequest("custom parser"),
            lineParser,
            new ServerSentEventListener() {
              @Override
              public void onClose() {
                closed.complete(null);
              }

              @Override
              public void onError(Throwable throwable) {
                closed.completeExceptionally(throwable);
              }
            });
    closed.get(30, TimeUnit.SECONDS);
    assertThat(lines).last().isEqualTo("[DONE]");
    assertThat(lines).hasSizeGreaterThanOrEqualTo(5);
  }

  @Test
  void withoutAPoolOfTheirOwnClientsShareOnePoolPerTimeoutSettings() {
    server = Proto.HTTP_1_1.server().start();
    try {
      LlmPoolHttpClient a =
          LlmPoolHttpClient.builder()
              .connectTimeout(Duration.ofSeconds(15))
              .readTimeout(Duration.ofSeconds(60))
              .build();
      LlmPoolHttpClient b =
          LlmPoolHttpClient.builder()
              .connectTimeout(Duration.ofSeconds(15))
              .readTimeout(Duration.ofSeconds(60))
              .build();
      LlmPoolHttpClient c =
          LlmPoolHttpClient.builder()
              .connectTimeout(Duration.ofSeconds(15))
              .readTimeout(Duration.ofSeconds(90))
              .build();
      assertThat(a.pool()).isSameAs(b.pool()).isNotSameAs(c.pool());
      assertThat(a.pool().timeouts().read()).isEqualTo(Duration.ofSeconds(60));
      assertThat(a.pool().timeouts().connect()).isEqualTo(Duration.ofSeconds(15));

      // Models built without a pool (LangChain4j's defaults: 15 s connect, 60 s read) share it.
      ChatModel one = openAi(0);
      ChatModel two = openAi(0);
      for (int i = 0; i < 5; i++) {
        assertThat(one.chat("one " + i)).isEqualTo("Mock reply to: one " + i);
        assertThat(two.chat("two " + i)).isEqualTo("Mock reply to: two " + i);
      }
      assertThat(server.stats().connectionsAccepted()).isEqualTo(1);

      LlmPool shared = a.pool();
      LlmPoolLangChain4j.closeSharedPools();
      assertThat(shared.isClosed()).isTrue();
      assertThat(c.pool().isClosed()).isTrue();
    } finally {
      LlmPoolLangChain4j.closeSharedPools();
    }
  }

  @Test
  void retryAfterIsReadFromMillisecondsSecondsOrADate() {
    assertThat(http(Map.of("retry-after-ms", List.of("250"))).retryAfter())
        .contains(Duration.ofMillis(250));
    assertThat(http(Map.of("retry-after", List.of("3"))).retryAfter())
        .contains(Duration.ofSeconds(3));
    assertThat(http(Map.of("retry-after", List.of("Wed, 21 Oct 2015 07:28:00 GMT"))).retryAfter())
        .contains(Duration.ZERO); // a date in the past: retry now
    assertThat(http(Map.of("retry-after", List.of("soon"))).retryAfter()).isEmpty();
    assertThat(http(Map.of()).retryAfter()).isEmpty();
  }

  private static LlmPoolHttpException http(Map<String, List<String>> headers) {
    return new LlmPoolHttpException(429, "{}", headers);
  }
}
