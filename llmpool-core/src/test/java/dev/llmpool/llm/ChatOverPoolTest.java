package dev.llmpool.llm;

import static dev.llmpool.llm.Wire.KEY;
import static dev.llmpool.llm.Wire.assertNoActiveConnection;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.llmpool.LlmPool;
import dev.llmpool.Phase;
import dev.llmpool.llm.Wire.Api;
import dev.llmpool.testkit.MockLlmServer;
import dev.llmpool.testkit.RecordedRequest;
import dev.llmpool.testkit.Reply;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@code openAiChat} and {@code anthropicMessages} end to end: the pool's own HTTP client, the mock
 * server, both APIs, complete and stream, over HTTP/1.1, HTTPS/1.1, h2c and h2 (TLS with the
 * testkit's certificate).
 */
class ChatOverPoolTest {
  private static final String TEXT = "The sky is blue because air scatters blue light the most.";
  private static final List<Message> ASK = List.of(Message.user("Why is the sky blue?"));

  private static List<org.junit.jupiter.params.provider.Arguments> all() {
    return Wire.all();
  }

  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("all")
  void completeReturnsTheAnswerAndEverythingTheResponseSaid(Wire wire, Api api) {
    List<ChatObservation> seen = new CopyOnWriteArrayList<>();
    try (MockLlmServer server = wire.server().defaultReply(Reply.text(TEXT)).start();
        LlmPool pool = wire.pool(server, api).chatObserver(seen::add).build()) {
      ChatClient chat = api.client(pool, "model-a");
      ChatResponse r = chat.complete(ASK);

      assertThat(r.text()).isEqualTo(TEXT);
      assertThat(r.model()).isEqualTo("model-a");
      assertThat(r.id()).isNotBlank();
      assertThat(r.finishReason()).isEqualTo(api == Api.OPENAI ? "stop" : "end_turn");
      assertThat(r.usage()).isNotNull();
      assertThat(r.usage().outputTokens()).isEqualTo(11);
      assertThat(r.usage().inputTokens()).isPositive();
      assertThat(r.attempts()).isEqualTo(1);
      assertThat(r.timeToFirstToken()).isNull();
      assertThat(r.timeToFirstByte()).isLessThanOrEqualTo(r.latency());
      assertThat(r.rateLimits().requests().limit()).hasValue(10_000);
      assertThat(r.rateLimits().requests().remaining()).hasValue(9_999);
      assertThat(r.rateLimits().requests().reset()).isPresent();

      RecordedRequest seenByServer = server.takeRequest();
      assertThat(r.requestId()).isEqualTo(seenByServer.requestId());
      assertThat(seenByServer.path()).isEqualTo(api.path());
      assertThat(seenByServer.protocol()).isEqualTo(wire.protocol());
      assertThat(seenByServer.prompt()).isEqualTo("Why is the sky blue?");
      if (api == Api.OPENAI) {
        assertThat(seenByServer.header("authorization")).isEqualTo("Bearer " + KEY);
        assertThat(seenByServer.header("x-api-key")).isNull();
      } else {
        assertThat(seenByServer.header("x-api-key")).isEqualTo(KEY);
        assertThat(seenByServer.header("anthropic-version")).isEqualTo("2023-06-01");
        assertThat(seenByServer.header("authorization")).isNull();
      }
      assertThat(seenByServer.header("user-agent")).startsWith("llmpool/");

      // Fields llmpool does not model are kept: the body exactly as received.
      assertThat(r.rawJson()).contains("\"service_tier\"");
      if (api == Api.OPENAI) {
        assertThat(r.rawJson()).contains("\"system_fingerprint\":\"fp_llmpool_mock\"");
      } else {
        assertThat(r.rawJson()).contains("\"cache_creation_input_tokens\"");
      }

      assertThat(seen).hasSize(1);
      ChatObservation o = seen.get(0);
      assertThat(o.provider()).isEqualTo(api.provider());
      assertThat(o.operation()).isEqualTo("chat");
      assertThat(o.streaming()).isFalse();
      assertThat(o.requestModel()).isEqualTo("model-a");
      assertThat(o.responseModel()).isEqualTo("model-a");
      assertThat(o.usage()).isEqualTo(r.usage());
      assertThat(o.attempts()).isEqualTo(1);
      assertThat(o.errorType()).isNull();
      assertThat(o.succeeded()).isTrue();
      assertThat(o.timeToFirstChunk()).isNull();
      assertThat(o.finishReason()).isEqualTo(r.finishReason());
      assertThat(o.rateLimits()).isEqualTo(r.rateLimits());
      assertThat(o.server().port()).isEqualTo(server.port());
      assertThat(o.duration()).isGreaterThanOrEqualTo(r.timeToFirstByte());
      assertNoActiveConnection(pool);
    }
  }

  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("all")
  void streamDeliversTheAnswerInPiecesAndMeasuresTimeToFirstToken(Wire wire, Api api)
      throws Exception {
    List<ChatObservation> seen = new CopyOnWriteArrayList<>();
    // 500 tokens a second: the server waits 2 ms between pieces, so the first one is early.
    Reply paced = Reply.text(TEXT).toBuilder().tokensPerSecond(500).build();
    try (MockLlmServer server = wire.server().defaultReply(paced).start();
        LlmPool pool = wire.pool(server, api).chatObserver(seen::add).build()) {
      ChatClient chat = api.client(pool, "model-s");
      List<String> pieces = new ArrayList<>();
      ChatResponse r = chat.stream(ASK, pieces::add);

      assertThat(pieces).hasSize(11);
      assertThat(String.join("", pieces)).isEqualTo(TEXT).isEqualTo(r.text());
      assertThat(r.timeToFirstToken()).isNotNull();
      assertThat(r.timeToFirstToken()).isGreaterThanOrEqualTo(r.timeToFirstByte());
      assertThat(r.timeToFirstToken()).isLessThan(r.latency());
      assertThat(r.finishReason()).isEqualTo(api == Api.OPENAI ? "stop" : "end_turn");
      assertThat(r.usage()).isNotNull();
      assertThat(r.usage().outputTokens()).isEqualTo(11);
      assertThat(r.requestId()).isEqualTo(server.takeRequest().requestId());
      assertThat(r.attempts()).isEqualTo(1);
      // The events folded into the non-streamed shape, unknown fields kept.
      assertThat(r.rawJson()).contains(api == Api.OPENAI ? "system_fingerprint" : "\"message\"");

      // The async form too, its listener on the I/O thread.
      List<String> more = new CopyOnWriteArrayList<>();
      ChatResponse again = chat.streamAsync(ASK, more::add).get(20, TimeUnit.SECONDS);
      assertThat(String.join("", more)).isEqualTo(TEXT).isEqualTo(again.text());

      // The observer hears an async call when it ends, possibly just after its future completed.
      Wire.until(() -> seen.size() == 2);
      ChatObservation o = seen.get(0);
      assertThat(o.streaming()).isTrue();
      assertThat(o.timeToFirstChunk()).isEqualTo(r.timeToFirstToken());
      assertThat(o.usage()).isEqualTo(r.usage());
      assertThat(o.responseModel()).isEqualTo("model-s");
      assertNoActiveConnection(pool);
      // Both calls rode one connection.
      assertThat(server.stats().connectionsAccepted()).isEqualTo(1);
    }
  }

  /** Status, exception, the provider's error type for each API. */
  private record Case(
      int status, Class<? extends ApiStatusException> type, String openAi, String anthropic) {}

  private static final List<Case> CASES =
      List.of(
          new Case(
              400, BadRequestException.class, "invalid_request_error", "invalid_request_error"),
          new Case(
              422, BadRequestException.class, "invalid_request_error", "invalid_request_error"),
          new Case(
              401, AuthenticationException.class, "invalid_request_error", "authentication_error"),
          new Case(403, PermissionDeniedException.class, "permission_error", "permission_error"),
          new Case(404, NotFoundException.class, "invalid_request_error", "not_found_error"),
          new Case(429, RateLimitException.class, "requests", "rate_limit_error"),
          new Case(529, OverloadedException.class, "server_error", "overloaded_error"),
          new Case(500, ServerErrorException.class, "server_error", "api_error"),
          new Case(502, ServerErrorException.class, "server_error", "api_error"),
          new Case(503, ServerErrorException.class, "server_error", "api_error"),
          new Case(504, ServerErrorException.class, "server_error", "api_error"));

  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("all")
  void everyErrorStatusIsItsTypedExceptionWithTheProvidersWords(Wire wire, Api api) {
    List<ChatObservation> seen = new CopyOnWriteArrayList<>();
    try (MockLlmServer server = wire.server().start();
        LlmPool pool =
            wire.pool(server, api).retryPolicy(RetryPolicy.NONE).chatObserver(seen::add).build()) {
      ChatClient chat = api.client(pool, "m");
      int calls = 0;
      for (boolean streaming : new boolean[] {false, true}) {
        for (Case c : CASES) {
          String said = "provider says " + c.status() + (streaming ? " (stream)" : "");
          server.enqueue(Reply.error(c.status()).toBuilder().errorMessage(said).build());
          String what = c.status() + (streaming ? " stream" : " complete");
          ApiStatusException e =
              catchThrowableOfType(
                  c.type(),
                  () -> {
                    if (streaming) {
                      chat.stream(ASK, t -> {});
                    } else {
                      chat.complete(ASK);
                    }
                  });
          calls++;
          assertThat(e).as(what).isNotNull();
          assertThat(e.getClass()).as(what).isEqualTo(c.type());
          assertThat(e.status()).as(what).isEqualTo(c.status());
          assertThat(e.phase()).isEqualTo(Phase.HTTP_STATUS);
          assertThat(e.providerMessage()).as(what).isEqualTo(said);
          assertThat(e.errorType())
              .as(what)
              .isEqualTo(api == Api.OPENAI ? c.openAi() : c.anthropic());
          assertThat(e.requestId()).as(what).isEqualTo(server.takeRequest().requestId());
          assertThat(e.error().inStream()).isFalse();
          assertThat(e.getMessage())
              .as(what)
              .contains(said)
              .contains(e.requestId())
              .contains("127.0.0.1")
              .doesNotContain(KEY);
          if (c.status() == 429) {
            assertThat(e.retryAfter()).isEqualTo(Duration.ofSeconds(1));
            assertThat(e.rateLimits().requests().remaining()).hasValue(0);
          }
          ChatObservation o = seen.get(calls - 1);
          assertThat(o.errorType()).isEqualTo(c.type().getSimpleName());
          assertThat(o.error()).isSameAs(e);
          assertThat(o.attempts()).isEqualTo(1);
          assertThat(o.rateLimits()).isEqualTo(e.rateLimits());
        }
      }
      assertThat(server.requestCount()).as("no call was retried or sent twice").isEqualTo(calls);
      assertNoActiveConnection(pool);
      assertThat(server.stats().connectionsAccepted())
          .as("an error response leaves its connection reusable")
          .isEqualTo(1);
    }
  }

  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("all")
  void aWrongKeyIsAnAuthenticationErrorThatDoesNotShowTheKey(Wire wire, Api api) {
    try (MockLlmServer server = wire.server().apiKey("the-right-key").start();
        LlmPool pool = wire.pool(server, api).build()) {
      ChatClient chat = api.client(pool, "m");
      assertThatThrownBy(() -> chat.complete(ASK))
          .isInstanceOf(AuthenticationException.class)
          .satisfies(
              e -> {
                AuthenticationException a = (AuthenticationException) e;
                assertThat(a.status()).isEqualTo(401);
                assertThat(a.providerMessage()).isNotBlank();
                assertThat(a.toString()).doesNotContain(KEY);
                assertThat(a.error().toString()).doesNotContain(KEY);
              });
      assertThat(server.requestCount()).as("401 is not retried").isEqualTo(1);
      assertNoActiveConnection(pool);
    }
  }

  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("all")
  void callsAfterTheFirstRideTheSameConnection(Wire wire, Api api) throws Exception {
    try (MockLlmServer server = wire.server().start();
        LlmPool pool = wire.pool(server, api).build()) {
      ChatClient chat = api.client(pool, "m");
      for (int i = 0; i < 3; i++) {
        assertThat(chat.complete(List.of(Message.user("call " + i))).text())
            .isEqualTo("Mock reply to: call " + i);
        chat.stream(List.of(Message.user("stream " + i)), t -> {});
      }
      assertThat(chat.completeAsync(ASK).get(20, TimeUnit.SECONDS).text()).contains("sky");
      assertNoActiveConnection(pool);
      assertThat(server.requestCount()).isEqualTo(7);
      assertThat(server.stats().connectionsAccepted()).isEqualTo(1);
      assertThat(server.stats().tlsHandshakesCompleted()).isEqualTo(wire.tls ? 1 : 0);
      assertThat(server.stats().requestsPerConnection()).isEqualTo(Map.of(1L, 7));
    }
  }
}
