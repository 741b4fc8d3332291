package dev.llmpool.openai;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.openai.client.OpenAIClient;
import com.openai.client.OpenAIClientImpl;
import com.openai.core.ClientOptions;
import com.openai.core.RequestOptions;
import com.openai.core.Timeout;
import com.openai.core.http.AsyncStreamResponse;
import com.openai.core.http.StreamResponse;
import com.openai.errors.OpenAIException;
import com.openai.errors.OpenAIIoException;
import com.openai.errors.RateLimitException;
import com.openai.errors.UnauthorizedException;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
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
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The OpenAI Java SDK driven through its own public API, with llmpool as its HTTP client, against
 * the testkit's mock server over HTTP/1.1, h2c and h2 (TLS): answers, streams, the SDK's own
 * exceptions, connection reuse, retries and ownership.
 */
class OpenAiSdkOnLlmPoolTest {
  private MockLlmServer server;
  private LlmPool pool;
  private final List<OpenAIClient> clients = new ArrayList<>();

  private void start(Proto p) {
    start(p, p.server());
  }

  private void start(Proto p, MockLlmServer.Builder sb) {
    server = sb.start();
    pool = p.pool(server).build();
  }

  private OpenAIClient client(Consumer<ClientOptions.Builder> options) {
    ClientOptions.Builder b =
        ClientOptions.builder()
            .httpClient(LlmPoolOpenAiHttpClient.of(pool))
            .baseUrl(server.url("/v1").toString())
            .apiKey("sk-test");
    options.accept(b);
    OpenAIClient c = new OpenAIClientImpl(b.build());
    clients.add(c);
    return c;
  }

  private OpenAIClient client() {
    return client(b -> {});
  }

  private static ChatCompletionCreateParams chat(String prompt) {
    return ChatCompletionCreateParams.builder().model("gpt-4o").addUserMessage(prompt).build();
  }

  @AfterEach
  void tearDown() {
    try {
      if (pool != null) {
        // Every exchange ended: nothing leased, nothing in flight.
        Await.until(
            () -> pool.stats().active() == 0 && pool.stats().inFlightExchanges() == 0,
            () -> "an idle pool, got " + pool.stats());
      }
    } finally {
      clients.forEach(OpenAIClient::close);
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
  void twentyCompletionsArriveOverOneConnection(Proto p) {
    start(p);
    OpenAIClient client = client();
    for (int i = 0; i < 20; i++) {
      ChatCompletion c = client.chat().completions().create(chat("hello " + i));
      assertThat(c.choices().get(0).message().content()).contains("Mock reply to: hello " + i);
    }
    assertThat(server.stats().connectionsAccepted()).as("%s", pool.stats()).isEqualTo(1);
    assertThat(server.requests())
        .hasSize(20)
        .allSatisfy(
            r -> {
              assertThat(r.protocol()).isEqualTo(p.protocol());
              assertThat(r.path()).isEqualTo("/v1/chat/completions");
              assertThat(r.header("authorization")).isEqualTo("Bearer sk-test");
            });
    PoolStats s = pool.stats();
    assertThat(s.opened()).isEqualTo(1);
    assertThat(s.reused()).isGreaterThanOrEqualTo(19);
  }

  @ParameterizedTest
  @EnumSource(Proto.class)
  void aStreamArrivesInPiecesAndItsConnectionIsReused(Proto p) {
    start(p);
    OpenAIClient client = client();
    for (int round = 0; round < 3; round++) {
      StringBuilder text = new StringBuilder();
      int pieces = 0;
      try (StreamResponse<ChatCompletionChunk> stream =
          client.chat().completions().createStreaming(chat("stream me please " + round))) {
        for (ChatCompletionChunk chunk :
            (Iterable<ChatCompletionChunk>) stream.stream()::iterator) {
          if (!chunk.choices().isEmpty()) {
            Optional<String> piece = chunk.choices().get(0).delta().content();
            if (piece.isPresent() && !piece.get().isEmpty()) {
              pieces++;
              text.append(piece.get());
            }
          }
        }
      }
      assertThat(text.toString()).isEqualTo("Mock reply to: stream me please " + round);
      assertThat(pieces).isGreaterThanOrEqualTo(5);
    }
    assertThat(server.stats().connectionsAccepted()).isEqualTo(1);
  }

  @ParameterizedTest
  @EnumSource(Proto.class)
  void streamedPiecesReachTheCallerBeforeTheStreamEnds(Proto p) {
    start(p);
    // The server sends half the events, then cuts the connection: the pieces sent before the cut
    // arrive (they were not held back until the end), then the failure surfaces as the SDK's.
    server.enqueue(Reply.fault(Fault.CLOSE_CONNECTION_MID_BODY));
    OpenAIClient client = client(b -> b.maxRetries(0));
    List<String> pieces = new ArrayList<>();
    assertThatThrownBy(
            () -> {
              try (StreamResponse<ChatCompletionChunk> stream =
                  client
                      .chat()
                      .completions()
                      .createStreaming(chat("one two three four five six seven eight"))) {
                stream.stream()
                    .forEach(
                        c -> {
                          if (!c.choices().isEmpty()) {
                            c.choices().get(0).delta().content().ifPresent(pieces::add);
                          }
                        });
              }
            })
        .isInstanceOf(OpenAIIoException.class)
        .hasRootCauseInstanceOf(ConnectionLostException.class);
    assertThat(pieces.stream().filter(s -> !s.isEmpty()).count()).isGreaterThanOrEqualTo(3);
  }

  @ParameterizedTest
  @EnumSource(Proto.class)
  void aWrongKeyIsTheSdksUnauthorizedException(Proto p) {
    start(p, p.server().apiKey("sk-right"));
    OpenAIClient client = client(b -> b.apiKey("sk-wrong"));
    assertThatThrownBy(() -> client.chat().completions().create(chat("hi")))
        .isInstanceOf(UnauthorizedException.class)
        .satisfies(e -> assertThat(((UnauthorizedException) e).statusCode()).isEqualTo(401));
    assertThat(server.requests()).hasSize(1); // 401 is not retried
  }

  @ParameterizedTest
  @EnumSource(Proto.class)
  void a429IsRetriedByTheSdkAndFinallyItsRateLimitException(Proto p) {
    start(p);
    Reply limited = Reply.error(429).toBuilder().retryAfter(Duration.ofMillis(10)).build();
    server.enqueue(limited, limited);
    OpenAIClient client = client(b -> b.maxRetries(2));
    // Two 429s then an answer: the SDK retries on the status, over the same connection.
    assertThat(client.chat().completions().create(chat("retry me")).choices()).hasSize(1);
    assertThat(server.requests()).hasSize(3);
    assertThat(server.stats().connectionsAccepted()).isEqualTo(1);

    server.enqueue(limited, limited, limited);
    assertThatThrownBy(() -> client.chat().completions().create(chat("give up")))
        .isInstanceOf(RateLimitException.class)
        .satisfies(
            e ->
                assertThat(((RateLimitException) e).headers().values("retry-after-ms"))
                    .containsExactly("10"));
  }

  @ParameterizedTest
  @EnumSource(Proto.class)
  void aRequestTheServerMayHaveProcessedIsNotRetriedByTheSdk(Proto p) {
    start(p);
    server.enqueue(Reply.fault(Fault.DISCONNECT_AFTER_REQUEST));
    OpenAIClient client = client(b -> b.maxRetries(2));
    assertThatThrownBy(() -> client.chat().completions().create(chat("bill me once")))
        .isInstanceOf(OpenAIException.class)
        .isNotInstanceOf(OpenAIIoException.class)
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
    ClientOptions options =
        ClientOptions.builder()
            .httpClient(LlmPoolOpenAiHttpClient.builder(pool).retryPossiblyProcessed(true).build())
            .baseUrl(server.url("/v1").toString())
            .apiKey("sk-test")
            .maxRetries(1)
            .build();
    OpenAIClient client = new OpenAIClientImpl(options);
    clients.add(client);
    assertThat(client.chat().completions().create(chat("at least once")).choices()).hasSize(1);
    assertThat(server.requests()).hasSize(2);
  }

  @ParameterizedTest
  @EnumSource(
      value = Proto.class,
      names = {"H2C", "H2_TLS"})
  void provablyUnprocessedFailuresAreResentByLlmPoolThenRetriedByTheSdk(Proto p) {
    start(p);
    // Every attempt's stream is refused (provably not processed): llmpool re-sends each SDK
    // attempt 3 times, then the SDK retries its IOException once: 2 × (1 + 3) refusals.
    for (int i = 0; i < 8; i++) {
      server.enqueue(Reply.fault(Fault.REFUSE_STREAM));
    }
    OpenAIClient client = client(b -> b.maxRetries(1));
    assertThatThrownBy(() -> client.chat().completions().create(chat("refused")))
        .isInstanceOf(OpenAIIoException.class)
        .satisfies(
            e ->
                assertThat(((LlmPoolException) e.getCause()).requestMayHaveBeenProcessed())
                    .isFalse());
    assertThat(server.requests()).hasSize(8);
    assertThat(server.requests()).allMatch(r -> r.reply().fault() == Fault.REFUSE_STREAM);
  }

  @ParameterizedTest
  @EnumSource(
      value = Proto.class,
      names = {"HTTP_1_1", "H2C"})
  void aPerCallTimeoutFromRequestOptionsEndsTheCall(Proto p) {
    start(p);
    server.enqueue(Reply.text("late").toBuilder().headersDelay(Duration.ofSeconds(30)).build());
    OpenAIClient client = client(b -> b.maxRetries(0));
    RequestOptions fast =
        RequestOptions.builder()
            .timeout(Timeout.builder().request(Duration.ofMillis(300)).build())
            .build();
    assertThatThrownBy(() -> client.chat().completions().create(chat("slow"), fast))
        .isInstanceOf(OpenAIException.class)
        .hasCauseInstanceOf(TotalTimeoutException.class);
    // The pool's own limits stay in force for calls without one.
    assertThat(client.chat().completions().create(chat("normal")).choices()).hasSize(1);
  }

  @ParameterizedTest
  @EnumSource(Proto.class)
  void asyncCallsCompleteOffTheIoThreads(Proto p) throws Exception {
    start(p);
    OpenAIClient client = client();
    List<CompletableFuture<ChatCompletion>> calls = new ArrayList<>();
    for (int i = 0; i < 10; i++) {
      calls.add(client.async().chat().completions().create(chat("async " + i)));
    }
    for (int i = 0; i < 10; i++) {
      assertThat(calls.get(i).get(30, TimeUnit.SECONDS).choices().get(0).message().content())
          .contains("Mock reply to: async " + i);
    }
    StringBuilder streamed = new StringBuilder();
    AsyncStreamResponse<ChatCompletionChunk> stream =
        client.async().chat().completions().createStreaming(chat("async stream"));
    stream.subscribe(
        c -> {
          if (!c.choices().isEmpty()) {
            c.choices().get(0).delta().content().ifPresent(streamed::append);
          }
        });
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
    OpenAIClient first = client();
    first.chat().completions().create(chat("one"));
    first.close();
    assertThat(pool.isClosed()).isFalse();
    assertThat(client().chat().completions().create(chat("two")).choices()).hasSize(1);
    assertThat(server.stats().connectionsAccepted()).isEqualTo(1);
    assertThatThrownBy(() -> first.chat().completions().create(chat("three")))
        .isInstanceOf(IllegalStateException.class);

    LlmPool owned = p.pool(server).build();
    OpenAIClient owner =
        new OpenAIClientImpl(
            ClientOptions.builder()
                .httpClient(LlmPoolOpenAiHttpClient.builder(owned).closePoolOnClose(true).build())
                .baseUrl(server.url("/v1").toString())
                .apiKey("sk-test")
                .build());
    owner.chat().completions().create(chat("owned"));
    owner.close();
    assertThat(owned.isClosed()).isTrue();
  }

  @ParameterizedTest
  @EnumSource(Proto.class)
  void theRequestTheServerSawIsTheSdksRequest(Proto p) {
    start(p);
    OpenAIClient client = client(b -> b.putHeader("x-custom", "yes").organization("org-1"));
    client.chat().completions().create(chat("headers"));
    RecordedRequest r = server.requests().get(0);
    assertThat(r.method()).isEqualTo("POST");
    assertThat(r.header("x-custom")).isEqualTo("yes");
    assertThat(r.header("openai-organization")).isEqualTo("org-1");
    assertThat(r.header("content-type")).startsWith("application/json");
    assertThat(r.model()).isEqualTo("gpt-4o");
    assertThat(r.prompt()).isEqualTo("headers");
  }
}
