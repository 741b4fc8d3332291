package dev.llmpool.llm.internal;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.llmpool.ConnectionLostException;
import dev.llmpool.Origin;
import dev.llmpool.Phase;
import dev.llmpool.llm.BadRequestException;
import dev.llmpool.llm.ChatObservation;
import dev.llmpool.llm.ChatResponse;
import dev.llmpool.llm.RetryPolicy;
import dev.llmpool.llm.Usage;
import dev.llmpool.llm.internal.FakeLlmHttp.FakeResponse;
import java.time.Duration;
import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/** The observer hears every call once, when it ends, with figures read off the injected clock. */
class ChatObserverTest extends ChatClientTestSupport {
  final List<ChatObservation> seen = new CopyOnWriteArrayList<>();

  ChatClientSettings observed() {
    return settings().withObserver(seen::add);
  }

  @Test
  void aCompletedCallIsObservedOnceWithItsModelsUsageAndDuration() {
    http.then(
        FakeResponse.json(200, new String(Fixtures.bytes("openai-chat.json"), UTF_8))
            .header("x-ratelimit-remaining-requests", "4999")
            .onRead(() -> take(Duration.ofMillis(40))));
    http.onSend = () -> take(Duration.ofMillis(100));

    ChatResponse r = openAi(observed()).complete(HELLO);

    assertThat(seen).hasSize(1);
    ChatObservation o = seen.get(0);
    assertThat(o.provider()).isEqualTo("openai");
    assertThat(o.operation()).isEqualTo(ChatObservation.CHAT);
    assertThat(o.server()).isEqualTo(Origin.of("https://api.openai.com"));
    assertThat(o.streaming()).isFalse();
    assertThat(o.requestModel()).isEqualTo("gpt-4o");
    assertThat(o.responseModel()).isEqualTo("gpt-4.1-2025-04-14");
    assertThat(o.usage()).isEqualTo(new Usage(19, 10, 29, 4, 0, 2));
    assertThat(o.duration()).isEqualTo(Duration.ofMillis(140)).isEqualTo(r.latency());
    assertThat(o.timeToFirstChunk()).isNull();
    assertThat(o.attempts()).isEqualTo(1);
    assertThat(o.errorType()).isNull();
    assertThat(o.error()).isNull();
    assertThat(o.finishReason()).isEqualTo("stop");
    assertThat(o.rateLimits().requests().remaining()).isEqualTo(OptionalLong.of(4999));
    assertThat(o.toString()).contains("openai chat").doesNotContain(KEY);
  }

  @Test
  void aStreamIsObservedWithItsTimeToFirstChunk() {
    http.onSend = () -> take(Duration.ofMillis(30));
    FakeResponse stream = FakeResponse.sse(Fixtures.bytes("anthropic-stream.sse"), 64);
    int[] reads = {0};
    stream.onRead = () -> take(Duration.ofMillis(++reads[0] == 1 ? 0 : 5));
    http.then(stream);

    ChatResponse r = anthropic(observed()).stream(HELLO, t -> {});

    ChatObservation o = seen.get(0);
    assertThat(o.provider()).isEqualTo("anthropic");
    assertThat(o.streaming()).isTrue();
    assertThat(o.timeToFirstChunk()).isNotNull().isEqualTo(r.timeToFirstToken());
    assertThat(o.timeToFirstChunk()).isGreaterThanOrEqualTo(Duration.ofMillis(30));
    assertThat(o.duration()).isEqualTo(r.latency()).isGreaterThan(o.timeToFirstChunk());
    assertThat(o.usage()).isEqualTo(r.usage());
    assertThat(o.requestModel()).isEqualTo("claude-sonnet-4-5");
  }

  @Test
  void aFailedCallIsObservedWithItsErrorTypeAndAttempts() {
    http.thenFail(
            new ConnectionLostException(
                Phase.CONNECT, Origin.of("https://api.openai.com"), "refused", false, null))
        .then(
            FakeResponse.json(
                400, "{\"error\":{\"message\":\"bad\",\"type\":\"invalid_request_error\"}}"));
    ChatClientSettings s = observed().withRetryPolicy(RetryPolicy.builder().maxRetries(1).build());
    CompletableFuture<ChatResponse> f = openAi(s).completeAsync(HELLO);
    manual.advance(Duration.ofSeconds(1)); // the backoff before the retry
    Throwable t = catchThrowable(f::join);

    assertThat(t).hasCauseInstanceOf(BadRequestException.class);
    assertThat(seen).hasSize(1);
    ChatObservation o = seen.get(0);
    assertThat(o.errorType()).isEqualTo("BadRequestException");
    assertThat(o.error()).isSameAs(t.getCause());
    assertThat(o.succeeded()).isFalse();
    assertThat(o.attempts()).isEqualTo(2);
    assertThat(o.responseModel()).isNull();
    assertThat(o.usage()).isNull();
  }

  @Test
  void aCancelledCallIsObservedToo() {
    CompletableFuture<LlmHttpResponse> never = new CompletableFuture<>();
    http.thenPending(never);
    CompletableFuture<ChatResponse> f = openAi(observed()).completeAsync(HELLO);
    f.cancel(true);
    assertThat(seen).hasSize(1);
    assertThat(seen.get(0).errorType()).isEqualTo("CancellationException");
    assertThat(never).isCancelled();
  }

  @Test
  void aThrowingObserverChangesNothing() {
    http.then(FakeResponse.json(200, new String(Fixtures.bytes("openai-chat.json"), UTF_8)));
    ChatClientSettings s =
        settings()
            .withObserver(
                o -> {
                  throw new IllegalStateException("observer bug");
                });
    assertThat(openAi(s).complete(HELLO).text()).isEqualTo("Hello! How can I assist you today?");
  }
}
