package dev.llmpool.anthropic;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.anthropic.backends.AnthropicBackend;
import com.anthropic.client.AnthropicClient;
import com.anthropic.client.AnthropicClientImpl;
import com.anthropic.core.ClientOptions;
import com.anthropic.core.RequestOptions;
import com.anthropic.core.Timeout;
import com.anthropic.core.http.AsyncStreamResponse;
import com.anthropic.core.http.StreamResponse;
import com.anthropic.errors.AnthropicException;
import com.anthropic.errors.AnthropicIoException;
import com.anthropic.errors.InternalServerException;
import com.anthropic.errors.RateLimitException;
import com.anthropic.errors.UnauthorizedException;
import com.anthropic.models.messages.Message;
import com.anthropic.models.messages.MessageCreateParams;
import com.anthropic.models.messages.RawMessageStreamEvent;
import dev.llmpool.ConnectionLostException;
import dev.llmpool.LlmPool;
import dev.llmpool.LlmPoolException;
import dev.llmpool.PoolStats;
import dev.llmpool.TotalTimeoutException;
import dev.llmpool.testkit.Fault;
import dev.llmpool.testkit.MockLlmServer;
import dev.llmpool.testkit.RecordedRequest;
import dev.llmpool.testkit.Reply;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The Anthropic Java SDK driven through its own public API, with llmpool as its HTTP client,
 * against the testkit's mock server over HTTP/1.1, h2c and h2 (TLS): answers, streams, the SDK's
 * own exceptions, connection reuse, retries and ownership.
 */
class AnthropicSdkOnLlmPoolTest {
  private MockLlmServer server;
  private LlmPool pool;
  private final List<AnthropicClient> clients = new ArrayList<>();

  private void start(Proto p) {
    start(p, p.server());
  }

  private void start(Proto p, MockLlmServer.Builder sb) {
    server = sb.start();
    pool = p.pool(server).build();
  }

  private AnthropicBackend backend(String apiKey) {
    return AnthropicBackend.builder().apiKey(apiKey).baseUrl(server.baseUrl().toString()).build();
  }

  private AnthropicClient client(Consumer<ClientOptions.Builder> options) {
    return client("sk-ant-test", options);
  }

  private AnthropicClient client(String apiKey, Consumer<ClientOptions.Builder> options) {
    AnthropicBackend backend = backend(apiKey);
    ClientOptions.Builder b =
        ClientOptions.builder()
            .httpClient(LlmPoolAnthropicHttpClient.of(pool, backend))
            .baseUrl(backend.baseUrl());
    options.accept(b);
    AnthropicClient c = new AnthropicClientImpl(b.build());
    clients.add(c);
    return c;
  }

  private AnthropicClient client() {
    return client(b -> {});
  }

  private static MessageCreateParams message(String prompt) {
    return MessageCreateParams.builder()
        .model("claude-sonnet-4-5")
        .maxTokens(1024)
        .addUserMessage(prompt)
        .build();
  }

  private static String text(Message m) {
    return m.content().get(0).asText().text();
  }

  @AfterEach
  void tearDown() {
    try {
      if (pool != null) {
        Await.until(
            () -> pool.stats().active() == 0 && pool.stats().inFlightExchanges() == 0,
            () -> "an idle pool, got " + pool.stats());
      }
    } finally {
      clients.forEach(AnthropicClient::close);
      if (pool != null) {
        pool.close();
      }
      if (server != null) {
        server.close();
      }
    }
  }

  @ParameterizedTest
  @EnumSource(Proto.class)
  void twentyMessagesArriveOverOneConnection(Proto p) {
    start(p);
    AnthropicClient client = client();
    for (int i = 0; i < 20; i++) {
      assertThat(text(client.messages().create(message("hello " + i))))
          .isEqualTo("Mock reply to: hello " + i);
    }
    assertThat(server.stats().connectionsAccepted()).isEqualTo(1);
    assertThat(server.requests())
        .hasSize(20)
        .allSatisfy(
            r -> {
              assertThat(r.protocol()).isEqualTo(p.protocol());
              assertThat(r.path()).isEqualTo("/v1/messages");
              assertThat(r.header("x-api-key")).isEqualTo("sk-ant-test");
              assertThat(r.header("anthropic-version")).isNotBlank();
            });
    PoolStats s = pool.stats();
    assertThat(s.opened()).isEqualTo(1);
    assertThat(s.reused()).isGreaterThanOrEqualTo(19);
  }

  @ParameterizedTest
  @EnumSource(Proto.class)
  void aStreamArrivesInPiecesAndItsConnectionIsReused(Proto p) {
    start(p);
    AnthropicClient client = client();
    for (int round = 0; round < 3; round++) {
      StringBuilder text = new StringBuilder();
      int[] pieces = {0};
      try (StreamResponse<RawMessageStreamEvent> stream =
          client.messages().createStreaming(message("stream me please " + round))) {
        stream.stream()
            .forEach(
                e ->
                    e.contentBlockDelta()
                        .flatMap(d -> d.delta().text())
                        .ifPresent(
                            t -> {
                              pieces[0]++;
                              text.append(t.text());
                            }));
      }
      assertThat(text.toString()).isEqualTo("Mock reply to: stream me please " + round);
      assertThat(pieces[0]).isGreaterThanOrEqualTo(5);
    }
    assertThat(server.stats().connectionsAccepted()).isEqualTo(1);
  }

  @ParameterizedTest
  @EnumSource(Proto.class)
  void streamedPiecesReachTheCallerBeforeTheStreamEnds(Proto p) {
    start(p);
    server.enqueue(Reply.fault(Fault.CLOSE_CONNECTION_MID_BODY));
    AnthropicClient client = client(b -> b.maxRetries(0));
    List<String> pieces = new ArrayList<>();
    assertThatThrownBy(
            () -> {
              try (StreamResponse<RawMessageStreamEvent> stream =
                  client
                      .messages()
                      .createStreaming(message("one two three four five six seven eight"))) {
                stream.stream()
                    .forEach(
                        e ->
                            e.contentBlockDelta()
                                .flatMap(d -> d.delta().text())
                                .ifPresent(t -> pieces.add(t.text())));
              }
            })
        .isInstanceOf(AnthropicIoException.class)
        .hasRootCauseInstanceOf(ConnectionLostException.class);
    assertThat(pieces).hasSizeGreaterThanOrEqualTo(2);
  }

  @ParameterizedTest
  @EnumSource(Proto.class)
  void errorsAreTheSdksOwnExceptions(Proto p) {
    start(p, p.server().apiKey("sk-ant-right"));
    AnthropicClient wrongKey = client("sk-ant-wrong", b -> {});
    assertThatThrownBy(() -> wrongKey.messages().create(message("hi")))
        .isInstanceOf(UnauthorizedException.class);

    AnthropicClient client = client("sk-ant-right", b -> b.maxRetries(0));
    server.enqueue(Reply.error(429));
    assertThatThrownBy(() -> client.messages().create(message("limited")))
        .isInstanceOf(RateLimitException.class)
        .satisfies(
            e ->
                assertThat(((RateLimitException) e).headers().values("retry-after"))
                    .containsExactly("1"));
    server.enqueue(Reply.error(529));
    assertThatThrownBy(() -> client.messages().create(message("busy")))
        .isInstanceOf(InternalServerException.class)
        .satisfies(e -> assertThat(((InternalServerException) e).statusCode()).isEqualTo(529));
    assertThat(server.requests()).hasSize(3);
  }

  @ParameterizedTest
  @EnumSource(Proto.class)
  void theSdkRetriesStatusesOverTheSameConnection(Proto p) {
    start(p);
    Reply overloaded = Reply.error(529).toBuilder().retryAfter(Duration.ofMillis(10)).build();
    server.enqueue(overloaded, overloaded);
    AnthropicClient client = client(b -> b.maxRetries(2));
    assertThat(text(client.messages().create(message("retry me"))))
        .isEqualTo("Mock reply to: retry me");
    assertThat(server.requests()).hasSize(3);
    assertThat(server.stats().connectionsAccepted()).isEqualTo(1);
  }

  @ParameterizedTest
  @EnumSource(Proto.class)
  void aRequestTheServerMayHaveProcessedIsNotRetriedByTheSdk(Proto p) {
    start(p);
    server.enqueue(Reply.fault(Fault.DISCONNECT_AFTER_REQUEST));
    AnthropicClient client = client(b -> b.maxRetries(2));
    assertThatThrownBy(() -> client.messages().create(message("bill me once")))
        .isInstanceOf(AnthropicException.class)
        .isNotInstanceOf(AnthropicIoException.class)
        .satisfies(
            e ->
                assertThat(((LlmPoolException) e.getCause()).requestMayHaveBeenProcessed())
                    .isTrue());
    assertThat(server.requests()).hasSize(1);
  }

  @ParameterizedTest
  @EnumSource(Proto.class)
  void retryPossiblyProcessedLetsTheSdkRetryThem(Proto p) {
    start(p);
    server.enqueue(Reply.fault(Fault.DISCONNECT_AFTER_REQUEST));
    AnthropicClient client =
        new AnthropicClientImpl(
            ClientOptions.builder()
                .httpClient(
                    LlmPoolAnthropicHttpClient.builder(pool)
                        .backend(backend("sk-ant-test"))
                        .retryPossiblyProcessed(true)
                        .build())
                .baseUrl(server.baseUrl().toString())
                .maxRetries(1)
                .build());
    clients.add(client);
    assertThat(text(client.messages().create(message("at least once"))))
        .isEqualTo("Mock reply to: at least once");
    assertThat(server.requests()).hasSize(2);
  }

  @ParameterizedTest
  @EnumSource(
      value = Proto.class,
      names = {"H2C", "H2_TLS"})
  void provablyUnprocessedFailuresAreResentByLlmPoolThenRetriedByTheSdk(Proto p) {
    start(p);
    for (int i = 0; i < 8; i++) {
      server.enqueue(Reply.fault(Fault.REFUSE_STREAM));
    }
    AnthropicClient client = client(b -> b.maxRetries(1));
    assertThatThrownBy(() -> client.messages().create(message("refused")))
        .isInstanceOf(AnthropicIoException.class)
        .satisfies(
            e ->
                assertThat(((LlmPoolException) e.getCause()).requestMayHaveBeenProcessed())
                    .isFalse());
    assertThat(server.requests()).hasSize(8);
  }

  @ParameterizedTest
  @EnumSource(
      value = Proto.class,
      names = {"HTTP_1_1", "H2C"})
  void aPerCallTimeoutFromRequestOptionsEndsTheCall(Proto p) {
    start(p);
    server.enqueue(Reply.text("late").toBuilder().headersDelay(Duration.ofSeconds(30)).build());
    AnthropicClient client = client(b -> b.maxRetries(0));
    RequestOptions fast =
        RequestOptions.builder()
            .timeout(Timeout.builder().request(Duration.ofMillis(300)).build())
            .build();
    assertThatThrownBy(() -> client.messages().create(message("slow"), fast))
        .isInstanceOf(AnthropicException.class)
        .hasCauseInstanceOf(TotalTimeoutException.class);
    assertThat(text(client.messages().create(message("normal"))))
        .isEqualTo("Mock reply to: normal");
  }

  @ParameterizedTest
  @EnumSource(Proto.class)
  void asyncCallsCompleteOffTheIoThreads(Proto p) throws Exception {
    start(p);
    AnthropicClient client = client();
    List<CompletableFuture<Message>> calls = new ArrayList<>();
    for (int i = 0; i < 10; i++) {
      calls.add(client.async().messages().create(message("async " + i)));
    }
    for (int i = 0; i < 10; i++) {
      assertThat(text(calls.get(i).get(30, TimeUnit.SECONDS)))
          .isEqualTo("Mock reply to: async " + i);
    }
    StringBuilder streamed = new StringBuilder();
    AsyncStreamResponse<RawMessageStreamEvent> stream =
        client.async().messages().createStreaming(message("async stream"));
    stream.subscribe(
        e ->
            e.contentBlockDelta()
                .flatMap(d -> d.delta().text())
                .ifPresent(t -> streamed.append(t.text())));
    stream.onCompleteFuture().get(30, TimeUnit.SECONDS);
    assertThat(streamed.toString()).isEqualTo("Mock reply to: async stream");
    if (p.http2) {
      assertThat(server.stats().connectionsAccepted()).isEqualTo(1);
    }
  }

  @ParameterizedTest
  @EnumSource(
      value = Proto.class,
      names = {"HTTP_1_1"})
  void closingTheSdkClientLeavesABorrowedPoolOpen(Proto p) {
    start(p);
    AnthropicClient first = client();
    first.messages().create(message("one"));
    first.close();
    assertThat(pool.isClosed()).isFalse();
    assertThat(text(client().messages().create(message("two")))).isEqualTo("Mock reply to: two");
    assertThat(server.stats().connectionsAccepted()).isEqualTo(1);

    LlmPool owned = p.pool(server).build();
    AnthropicClient owner =
        new AnthropicClientImpl(
            ClientOptions.builder()
                .httpClient(
                    LlmPoolAnthropicHttpClient.builder(owned)
                        .backend(backend("sk-ant-test"))
                        .closePoolOnClose(true)
                        .build())
                .baseUrl(server.baseUrl().toString())
                .build());
    owner.messages().create(message("owned"));
    owner.close();
    assertThat(owned.isClosed()).isTrue();
  }

  @ParameterizedTest
  @EnumSource(Proto.class)
  void theRequestTheServerSawIsTheSdksRequest(Proto p) {
    start(p);
    AnthropicClient client = client(b -> b.putHeader("x-custom", "yes"));
    client.messages().create(message("headers"));
    RecordedRequest r = server.requests().get(0);
    assertThat(r.method()).isEqualTo("POST");
    assertThat(r.header("x-custom")).isEqualTo("yes");
    assertThat(r.header("content-type")).startsWith("application/json");
    assertThat(r.model()).isEqualTo("claude-sonnet-4-5");
    assertThat(r.prompt()).isEqualTo("headers");
  }
}
