package dev.llmpool.llm;

import static dev.llmpool.llm.Wire.assertNoActiveConnection;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.llmpool.HttpProtocolException;
import dev.llmpool.LlmPool;
import dev.llmpool.LlmPoolException;
import dev.llmpool.llm.Wire.Api;
import dev.llmpool.testkit.Fault;
import dev.llmpool.testkit.MockLlmServer;
import dev.llmpool.testkit.Reply;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * What goes wrong inside a stream that began with a 200: the provider's error event, a stream cut
 * inside an event, a connection lost mid-stream. The typed exception reaches the caller, and a
 * stream that delivered text is never sent again, whatever the retry policy says.
 */
class ChatStreamFailuresTest {
  private static final String TEXT = "one two three four five six seven eight nine ten eleven";
  private static final List<Message> ASK = List.of(Message.user("count"));

  private static List<Arguments> all() {
    return Wire.all();
  }

  /** A pool that would retry anything it may: only "never after output" can stop it. */
  private static LlmPool eagerPool(Wire wire, MockLlmServer server, Api api) {
    return wire.pool(server, api)
        .retryPolicy(RetryPolicy.builder().maxRetries(5).retryMaybeProcessed(true).build())
        .build();
  }

  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("all")
  void anOverloadedErrorEventMidStreamIsAnOverloadedException(Wire wire, Api api) {
    List<ChatObservation> seen = new CopyOnWriteArrayList<>();
    try (MockLlmServer server = wire.server().defaultReply(Reply.text(TEXT)).start();
        LlmPool pool =
            wire.pool(server, api)
                .retryPolicy(RetryPolicy.builder().maxRetries(5).build())
                .chatObserver(seen::add)
                .build()) {
      ChatClient chat = api.client(pool, "m");
      server.enqueue(
          Reply.error(529).toBuilder()
              .text(TEXT)
              .errorMessage("Overloaded")
              .fault(Fault.ERROR_EVENT_MID_STREAM)
              .build());
      List<String> pieces = new CopyOnWriteArrayList<>();
      Throwable t = catchThrowable(() -> chat.stream(ASK, pieces::add));

      assertThat(t).isInstanceOf(OverloadedException.class);
      OverloadedException e = (OverloadedException) t;
      assertThat(e.status()).isEqualTo(529);
      assertThat(e.error().inStream()).isTrue();
      assertThat(e.providerMessage()).isEqualTo("Overloaded");
      assertThat(e.errorType()).isEqualTo(api == Api.OPENAI ? "server_error" : "overloaded_error");
      assertThat(e.requestId()).isEqualTo(server.takeRequest().requestId());
      assertThat(e.requestMayHaveBeenProcessed()).isTrue();
      assertThat(pieces).as("text arrived before the error").isNotEmpty();
      assertThat(TEXT).startsWith(String.join("", pieces));
      assertThat(server.requestCount()).as("never retried after text").isEqualTo(1);
      assertThat(seen).hasSize(1);
      assertThat(seen.get(0).errorType()).isEqualTo("OverloadedException");
      assertThat(seen.get(0).timeToFirstChunk()).isNotNull();
      assertNoActiveConnection(pool);
    }
  }

  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("all")
  void aRateLimitErrorEventMidStreamIsARateLimitException(Wire wire, Api api) {
    try (MockLlmServer server = wire.server().defaultReply(Reply.text(TEXT)).start();
        LlmPool pool = eagerPool(wire, server, api)) {
      ChatClient chat = api.client(pool, "m");
      server.enqueue(
          Reply.error(429).toBuilder().text(TEXT).fault(Fault.ERROR_EVENT_MID_STREAM).build());
      Throwable t = catchThrowable(() -> chat.stream(ASK, s -> {}));
      assertThat(t).isInstanceOf(RateLimitException.class);
      RateLimitException e = (RateLimitException) t;
      assertThat(e.error().inStream()).isTrue();
      assertThat(e.errorType()).isEqualTo(api == Api.OPENAI ? "requests" : "rate_limit_error");
      assertThat(e.providerMessage()).isNotBlank();
      assertThat(server.requestCount()).isEqualTo(1);
      assertNoActiveConnection(pool);
    }
  }

  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("all")
  void aStreamCutInsideAnEventIsAProtocolErrorAndIsNotResent(Wire wire, Api api) {
    try (MockLlmServer server = wire.server().defaultReply(Reply.text(TEXT)).start();
        LlmPool pool = eagerPool(wire, server, api)) {
      ChatClient chat = api.client(pool, "m");
      server.enqueue(Reply.text(TEXT).toBuilder().fault(Fault.TRUNCATE_MID_EVENT).build());
      List<String> pieces = new CopyOnWriteArrayList<>();
      Throwable t = catchThrowable(() -> chat.stream(ASK, pieces::add));

      assertThat(t).isInstanceOf(HttpProtocolException.class);
      assertThat(t.getMessage())
          .contains("the stream ended before its end marker")
          .contains("inside an event")
          .contains("127.0.0.1");
      assertThat(((LlmPoolException) t).requestMayHaveBeenProcessed()).isTrue();
      assertThat(pieces).isNotEmpty();
      assertThat(server.requestCount()).as("never retried after text").isEqualTo(1);
      assertNoActiveConnection(pool);
      // The HTTP exchange itself was complete: the connection is still good for the next call.
      assertThat(chat.complete(ASK).text()).isEqualTo(TEXT);
      assertThat(server.stats().connectionsAccepted()).isEqualTo(1);
      assertNoActiveConnection(pool);
    }
  }

  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("all")
  void aConnectionLostMidStreamFailsTheCallWithoutResendingIt(Wire wire, Api api) {
    try (MockLlmServer server = wire.server().defaultReply(Reply.text(TEXT)).start();
        LlmPool pool = eagerPool(wire, server, api)) {
      ChatClient chat = api.client(pool, "m");
      server.enqueue(Reply.text(TEXT).toBuilder().fault(Fault.CLOSE_CONNECTION_MID_BODY).build());
      List<String> pieces = new CopyOnWriteArrayList<>();
      Throwable t = catchThrowable(() -> chat.stream(ASK, pieces::add));

      assertThat(t).isInstanceOf(LlmPoolException.class);
      assertThat(((LlmPoolException) t).requestMayHaveBeenProcessed()).isTrue();
      assertThat(t.getMessage()).contains("127.0.0.1");
      assertThat(pieces).isNotEmpty();
      assertThat(server.requestCount()).as("never retried after text").isEqualTo(1);
      assertNoActiveConnection(pool);
      assertThat(chat.complete(ASK).text()).as("the pool recovers").isEqualTo(TEXT);
      assertNoActiveConnection(pool);
    }
  }
}
