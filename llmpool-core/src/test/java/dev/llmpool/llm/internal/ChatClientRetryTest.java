package dev.llmpool.llm.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.llmpool.ConnectFailedException;
import dev.llmpool.ConnectionLostException;
import dev.llmpool.LlmPoolException;
import dev.llmpool.Origin;
import dev.llmpool.Phase;
import dev.llmpool.TotalTimeoutException;
import dev.llmpool.llm.ApiStatusException;
import dev.llmpool.llm.ChatResponse;
import dev.llmpool.llm.OverloadedException;
import dev.llmpool.llm.Pacing;
import dev.llmpool.llm.RateLimitException;
import dev.llmpool.llm.RetryPolicy;
import dev.llmpool.llm.ServerErrorException;
import dev.llmpool.llm.internal.ChatClientTestSupport.RecordingListener.Retry;
import dev.llmpool.llm.internal.FakeLlmHttp.FakeResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class ChatClientRetryTest extends ChatClientTestSupport {
  private static final Origin OPENAI = Origin.of("https://api.openai.com");
  private static final String RATE_LIMITED =
      "{\"error\":{\"message\":\"Rate limit reached for requests\",\"type\":\"requests\",\"code\":\"rate_limit_exceeded\"}}";

  private static Throwable cause(CompletableFuture<?> f) {
    assertThat(f).isCompletedExceptionally();
    try {
      f.join();
      throw new AssertionError("not failed");
    } catch (CompletionException e) {
      return e.getCause();
    }
  }

  @Test
  void a429IsRetriedAfterTheRetryAfterTheServerAskedFor() {
    http.then(FakeResponse.json(429, RATE_LIMITED).header("retry-after", "3"))
        .then(FakeResponse.json(200, Fixtures.text("openai-chat.json")));

    CompletableFuture<ChatResponse> f = openAi().completeAsync(HELLO);

    assertThat(http.requests).hasSize(1);
    manual.advance(Duration.ofMillis(2999));
    assertThat(http.requests).as("not before the 3 s the server asked for").hasSize(1);
    manual.advance(Duration.ofMillis(1));
    assertThat(http.requests).hasSize(2);
    assertThat(http.requests.get(1).attempt()).isEqualTo(2);
    ChatResponse r = f.join();
    assertThat(r.attempts()).isEqualTo(2);
    assertThat(r.latency()).isEqualTo(Duration.ofSeconds(3));
    assertThat(events.retries).containsExactly(new Retry("http 429", Duration.ofSeconds(3), 2));
    // The same bytes are sent again.
    assertThat(http.requests.get(1).body()).isSameAs(http.requests.get(0).body());
  }

  @Test
  void retryAfterMsAndHttpDatesAreHonoured() {
    http.then(
            FakeResponse.json(503, "{}")
                .header("retry-after-ms", "1250")
                .header("retry-after", "9"))
        .then(FakeResponse.json(529, "{}").header("retry-after", "Thu, 01 Jan 2026 00:00:05 GMT"))
        .then(FakeResponse.json(200, Fixtures.text("anthropic-message.json")));

    CompletableFuture<ChatResponse> f = anthropic().completeAsync(HELLO);
    manual.advance(Duration.ofMillis(1250));
    assertThat(http.requests).hasSize(2);
    // Now is 00:00:01.250 on the manual wall clock: the date is 3.75 s away.
    manual.advance(Duration.ofMillis(3749));
    assertThat(http.requests).hasSize(2);
    manual.advance(Duration.ofMillis(1));
    assertThat(f.join().attempts()).isEqualTo(3);
    assertThat(events.retries)
        .extracting(Retry::delay)
        .containsExactly(Duration.ofMillis(1250), Duration.ofMillis(3750));
  }

  @Test
  void withoutRetryAfterTheBackoffIsExponentialWithSeededJitter() {
    http.then(FakeResponse.json(500, "{}"))
        .then(FakeResponse.json(502, "{}"))
        .then(FakeResponse.json(200, Fixtures.text("openai-chat.json")));
    CompletableFuture<ChatResponse> f = openAi().completeAsync(HELLO);
    manual.advance(Duration.ofSeconds(10));
    assertThat(f.join().attempts()).isEqualTo(3);
    // 0.5 s then 1 s, each shortened by jitter 0.25 * 0.5.
    assertThat(events.retries)
        .extracting(Retry::delay)
        .containsExactly(Duration.ofNanos(437_500_000), Duration.ofNanos(875_000_000));
  }

  @Test
  void afterMaxRetriesTheLastErrorIsThrownWithTheEarlierOnesSuppressed() {
    for (int i = 0; i < 3; i++) {
      http.then(
          FakeResponse.json(
              529,
              "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded "
                  + i
                  + "\"}}"));
    }
    CompletableFuture<ChatResponse> f = anthropic().completeAsync(HELLO);
    manual.advance(Duration.ofSeconds(30));
    Throwable e = cause(f);
    assertThat(e).isInstanceOf(OverloadedException.class);
    assertThat(((ApiStatusException) e).providerMessage()).isEqualTo("Overloaded 2");
    assertThat(e.getSuppressed()).hasSize(2).allMatch(s -> s instanceof OverloadedException);
    assertThat(http.requests).hasSize(3);
  }

  @Test
  void xShouldRetryFalseIsObeyed() {
    http.then(FakeResponse.json(429, RATE_LIMITED).header("x-should-retry", "false"));
    assertThatThrownBy(() -> openAi().complete(HELLO)).isInstanceOf(RateLimitException.class);
    assertThat(http.requests).hasSize(1);
  }

  @Test
  void aRetryAfterBeyondMaxRetryDelayIsNotWaitedForAndTheCallerLearnsIt() {
    http.then(FakeResponse.json(429, RATE_LIMITED).header("retry-after", "120"));
    assertThatThrownBy(() -> openAi().complete(HELLO))
        .isInstanceOfSatisfying(
            RateLimitException.class,
            e -> assertThat(e.retryAfter()).isEqualTo(Duration.ofMinutes(2)));
    assertThat(events.retries).isEmpty();
  }

  @Test
  void aWaitThatWouldRunPastTimeoutsTotalIsNotStarted() {
    http.then(FakeResponse.json(503, "{}").header("retry-after", "30"));
    DefaultChatClient chat = openAi(settings().withTotalTimeout(Duration.ofSeconds(20)));
    assertThatThrownBy(() -> chat.complete(HELLO)).isInstanceOf(ServerErrorException.class);
    assertThat(http.requests).hasSize(1);
  }

  @Test
  void timeoutsTotalEndsACallWhoseRetryIsStillRunning() {
    FakeResponse stalled = FakeResponse.manualSse();
    http.then(FakeResponse.json(503, "{}").header("retry-after", "5")).then(stalled);
    DefaultChatClient chat = openAi(settings().withTotalTimeout(Duration.ofSeconds(7)));

    CompletableFuture<ChatResponse> f = chat.streamAsync(HELLO, t -> {});
    manual.advance(Duration.ofSeconds(5));
    assertThat(http.requests).hasSize(2);
    assertThat(f).isNotDone();
    manual.advance(Duration.ofMillis(1999));
    assertThat(f).isNotDone();
    manual.advance(Duration.ofMillis(1));

    Throwable e = cause(f);
    assertThat(e)
        .isInstanceOf(TotalTimeoutException.class)
        .hasMessageContaining("timeouts.total")
        .hasMessageContaining("2 attempts");
    assertThat(((LlmPoolException) e).phase()).isEqualTo(Phase.TOTAL);
    assertThat(((LlmPoolException) e).requestMayHaveBeenProcessed()).isTrue();
    assertThat(e.getSuppressed()).hasSize(1).allMatch(s -> s instanceof ServerErrorException);
    assertThat(stalled.closed()).as("the stalled response is released").isTrue();
  }

  @Test
  void connectionFailuresThatDidNotReachTheServerAreRetried() {
    http.thenFail(new ConnectFailedException(OPENAI, "connection refused", false, null))
        .then(FakeResponse.json(200, Fixtures.text("openai-chat.json")));
    CompletableFuture<ChatResponse> f = openAi().completeAsync(HELLO);
    manual.advance(Duration.ofSeconds(1));
    assertThat(f.join().attempts()).isEqualTo(2);
    assertThat(events.retries.get(0).reason()).contains("connect failure");
  }

  @Test
  void aFailureAfterTheRequestWasSentIsNotRetriedUnlessAllowed() {
    ConnectionLostException lost =
        new ConnectionLostException(Phase.READ, OPENAI, "connection reset", true, null);
    http.thenFail(lost);
    assertThatThrownBy(() -> openAi().complete(HELLO)).isSameAs(lost);

    http.thenFail(lost).then(FakeResponse.json(200, Fixtures.text("openai-chat.json")));
    CompletableFuture<ChatResponse> f =
        openAi(settings().withRetryPolicy(RetryPolicy.builder().retryMaybeProcessed(true).build()))
            .completeAsync(HELLO);
    manual.advance(Duration.ofSeconds(1));
    assertThat(f.join().attempts()).isEqualTo(2);
  }

  @Test
  void anErrorEventBeforeAnyTextIsRetried() {
    http.then(FakeResponse.sse(Fixtures.bytes("anthropic-stream-error.sse"), 64))
        .then(FakeResponse.sse(Fixtures.bytes("anthropic-stream.sse"), 64));
    List<String> tokens = new ArrayList<>();
    CompletableFuture<ChatResponse> f = anthropic().streamAsync(HELLO, tokens::add);
    manual.advance(Duration.ofSeconds(1));
    ChatResponse r = f.join();
    assertThat(r.attempts()).isEqualTo(2);
    assertThat(tokens).containsExactly("Hello", " w\u00f6rld");
    assertThat(events.retries)
        .extracting(Retry::reason)
        .containsExactly("error event overloaded_error");
  }

  @Test
  void anErrorEventAfterTextIsNeverRetried() {
    http.then(FakeResponse.sse(Fixtures.bytes("openai-stream-error-after-text.sse"), 32));
    List<String> tokens = new ArrayList<>();
    assertThatThrownBy(() -> openAi().stream(HELLO, tokens::add))
        .isInstanceOfSatisfying(
            ServerErrorException.class,
            e -> {
              assertThat(e.error().inStream()).isTrue();
              assertThat(e.providerMessage()).isEqualTo("Internal error while generating");
              assertThat(e.requestMayHaveBeenProcessed()).isTrue();
            });
    assertThat(tokens).containsExactly("Partial");
    assertThat(http.requests).hasSize(1);
  }

  @Test
  void theConnectionLostMidStreamAfterTextIsNotRetriedEvenWhenAllowed() {
    ConnectionLostException lost =
        new ConnectionLostException(Phase.READ, OPENAI, "connection reset", true, null);
    byte[] partial =
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}\n\n"
            .getBytes(java.nio.charset.StandardCharsets.UTF_8);
    http.then(FakeResponse.sse(partial, 8).failingAtEnd(lost));
    DefaultChatClient chat =
        openAi(settings().withRetryPolicy(RetryPolicy.builder().retryMaybeProcessed(true).build()));
    assertThatThrownBy(() -> chat.stream(HELLO, t -> {})).isSameAs(lost);
    assertThat(http.requests).hasSize(1);
  }

  @Test
  void blockingCallsRetryOnTheCallersThreadDrivenByTheClock() throws Exception {
    http.then(FakeResponse.json(429, RATE_LIMITED).header("retry-after", "2"))
        .then(FakeResponse.json(200, Fixtures.text("openai-chat.json")));
    DefaultChatClient chat = openAi();
    ExecutorService caller = Executors.newSingleThreadExecutor();
    try {
      Future<ChatResponse> r = caller.submit(() -> chat.complete(HELLO));
      scheduler.awaitScheduled(2); // the total deadline and the retry
      assertThat(http.requests).hasSize(1);
      manual.advance(Duration.ofSeconds(2));
      assertThat(r.get(30, TimeUnit.SECONDS).attempts()).isEqualTo(2);
    } finally {
      caller.shutdownNow();
    }
  }

  @Test
  void pacingHoldsANewCallUntilTheWindowResets() {
    http.then(
            FakeResponse.json(200, Fixtures.text("openai-chat.json"))
                .header("x-ratelimit-limit-requests", "10")
                .header("x-ratelimit-remaining-requests", "0")
                .header("x-ratelimit-reset-requests", "2s"))
        .then(FakeResponse.json(200, Fixtures.text("openai-chat.json")));
    DefaultChatClient chat = openAi(settings().withPacing(Pacing.ON));
    chat.complete(HELLO);

    CompletableFuture<ChatResponse> second = chat.completeAsync(HELLO);
    assertThat(http.requests).as("held back, not sent to earn a 429").hasSize(1);
    manual.advance(Duration.ofMillis(1999));
    assertThat(http.requests).hasSize(1);
    manual.advance(Duration.ofMillis(1));
    assertThat(http.requests).hasSize(2);
    assertThat(second.join().latency()).isEqualTo(Duration.ofSeconds(2));
  }

  @Test
  void pacingNeverWaitsLongerThanItsMaximum() {
    http.then(
            FakeResponse.json(200, Fixtures.text("openai-chat.json"))
                .header("x-ratelimit-remaining-requests", "0")
                .header("x-ratelimit-reset-requests", "5m0s"))
        .then(
            FakeResponse.json(200, Fixtures.text("openai-chat.json"))
                .header("x-ratelimit-remaining-requests", "0")
                .header("x-ratelimit-reset-requests", "2562047h"))
        .then(FakeResponse.json(200, Fixtures.text("openai-chat.json")));
    DefaultChatClient chat = openAi(settings().withPacing(Pacing.ON));
    chat.complete(HELLO);
    assertThat(chat.completeAsync(HELLO)).isCompleted();
    // A reset centuries away (Go's largest duration) is sent at once, not overflowed.
    assertThat(chat.completeAsync(HELLO)).isCompleted();
    assertThat(http.requests).hasSize(3);
  }
}
