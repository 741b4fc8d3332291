package dev.llmpool.llm.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.llmpool.HttpProtocolException;
import dev.llmpool.LlmPoolException;
import dev.llmpool.Phase;
import dev.llmpool.TotalTimeoutException;
import dev.llmpool.llm.ApiStatusException;
import dev.llmpool.llm.AuthenticationException;
import dev.llmpool.llm.BadRequestException;
import dev.llmpool.llm.ChatResponse;
import dev.llmpool.llm.NotFoundException;
import dev.llmpool.llm.OverloadedException;
import dev.llmpool.llm.PermissionDeniedException;
import dev.llmpool.llm.RateLimitException;
import dev.llmpool.llm.RetryPolicy;
import dev.llmpool.llm.ServerErrorException;
import dev.llmpool.llm.SseLimitExceededException;
import dev.llmpool.llm.StreamListener;
import dev.llmpool.llm.internal.FakeLlmHttp.FakeResponse;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class ChatClientFailureTest extends ChatClientTestSupport {

  /** Failures are thrown without retries here, so each status is seen as the server sent it. */
  @Override
  ChatClientSettings settings() {
    return super.settings().withRetryPolicy(RetryPolicy.NONE);
  }

  static Stream<Arguments> statuses() {
    return Stream.of(
        Arguments.of(400, BadRequestException.class, "invalid_request_error"),
        Arguments.of(401, AuthenticationException.class, "authentication_error"),
        Arguments.of(403, PermissionDeniedException.class, "permission_error"),
        Arguments.of(404, NotFoundException.class, "not_found_error"),
        Arguments.of(413, ApiStatusException.class, "request_too_large"),
        Arguments.of(422, BadRequestException.class, "invalid_request_error"),
        Arguments.of(429, RateLimitException.class, "rate_limit_error"),
        Arguments.of(500, ServerErrorException.class, "api_error"),
        Arguments.of(503, ServerErrorException.class, "api_error"),
        Arguments.of(529, OverloadedException.class, "overloaded_error"));
  }

  @ParameterizedTest
  @MethodSource("statuses")
  void everyErrorStatusBecomesItsTypedExceptionForBothApisAndModes(
      int status, Class<? extends ApiStatusException> type, String errorType) {
    String anthropicBody =
        "{\"type\":\"error\",\"error\":{\"type\":\""
            + errorType
            + "\",\"message\":\"said "
            + status
            + "\"},\"request_id\":\"req_body\"}";
    String openAiBody =
        "{\"error\":{\"message\":\"said "
            + status
            + "\",\"type\":\""
            + errorType
            + "\",\"param\":null,\"code\":null}}";
    http.then(FakeResponse.json(status, anthropicBody))
        .then(FakeResponse.json(status, anthropicBody))
        .then(FakeResponse.json(status, openAiBody).header("x-request-id", "req_hdr"))
        .then(FakeResponse.json(status, openAiBody).header("x-request-id", "req_hdr"));

    List<Throwable> failures = new ArrayList<>();
    failures.add(catchIt(() -> anthropic().complete(HELLO)));
    failures.add(catchIt(() -> anthropic().stream(HELLO, t -> {})));
    failures.add(catchIt(() -> openAi().complete(HELLO)));
    failures.add(catchIt(() -> openAi().stream(HELLO, t -> {})));

    for (Throwable t : failures) {
      assertThat(t).isExactlyInstanceOf(type);
      ApiStatusException e = (ApiStatusException) t;
      assertThat(e.status()).isEqualTo(status);
      assertThat(e.phase()).isEqualTo(Phase.HTTP_STATUS);
      assertThat(e.providerMessage()).isEqualTo("said " + status);
      assertThat(e.errorType()).isEqualTo(errorType);
      assertThat(e.requestId()).isIn("req_body", "req_hdr");
      assertThat(e.error().inStream()).isFalse();
      assertThat(e.getMessage()).contains("said " + status).doesNotContain(KEY);
    }
  }

  private static Throwable catchIt(Runnable r) {
    try {
      r.run();
    } catch (RuntimeException e) {
      return e;
    }
    throw new AssertionError("no exception");
  }

  @Test
  void theKeyIsAbsentFromEveryExceptionMessageAndToString() {
    String echo = "Incorrect API key provided: " + KEY + " (Bearer " + KEY + ")";
    http.then(
        FakeResponse.json(
                401,
                "{\"error\":{\"message\":\""
                    + echo
                    + "\",\"type\":\"invalid_request_error\",\"code\":\"invalid_api_key\"}}")
            .header("www-authenticate", "Bearer " + KEY)
            .header("x-request-id", "req_" + KEY));
    http.then(FakeResponse.raw(200, "text/html", "<html><title>Login " + KEY + "</title>"));
    http.then(
        FakeResponse.sse(
            ("event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"api_error\",\"message\":\""
                    + KEY
                    + "\"}}\n\n")
                .getBytes(StandardCharsets.UTF_8),
            7));

    List<Throwable> failures =
        List.of(
            catchIt(() -> openAi().complete(HELLO)),
            catchIt(() -> openAi().complete(HELLO)),
            catchIt(() -> anthropic().stream(HELLO, t -> {})));
    for (Throwable t : failures) {
      StringWriter trace = new StringWriter();
      t.printStackTrace(new PrintWriter(trace));
      assertThat(trace.toString()).as(t.getClass().getSimpleName()).doesNotContain(KEY);
      if (t instanceof ApiStatusException e) {
        assertThat(e.error().toString()).doesNotContain(KEY);
        assertThat(e.error().body()).doesNotContain(KEY);
        assertThat(String.join(" ", e.error().headers().values())).doesNotContain(KEY);
      }
    }
    assertThat(failures.get(0)).isInstanceOf(AuthenticationException.class);
    assertThat(failures.get(0).getMessage()).contains("[redacted]");
  }

  @Test
  void aSuccessBodyThatIsNotTheApisJsonIsAProtocolErrorNamingTheHost() {
    http.then(FakeResponse.raw(200, "text/html", "<html><body>Captive portal</body></html>"));
    assertThatThrownBy(() -> openAi().complete(HELLO))
        .isInstanceOfSatisfying(
            HttpProtocolException.class,
            e -> {
              assertThat(e.phase()).isEqualTo(Phase.PROTOCOL);
              assertThat(e.getMessage())
                  .contains("api.openai.com")
                  .contains("not a valid openai answer")
                  .contains("Captive portal");
            });
  }

  @Test
  void anErrorObjectSentWithA200IsAnApiError() {
    http.then(
        FakeResponse.json(
            200,
            "{\"error\":{\"message\":\"Rate limited upstream\",\"type\":\"rate_limit_error\",\"code\":\"429\"}}"));
    assertThatThrownBy(() -> openAi().complete(HELLO)).isInstanceOf(RateLimitException.class);
  }

  @Test
  void aStreamCutInsideAnEventFailsAndSaysTheRequestMayHaveBeenProcessed() {
    byte[] stream = Fixtures.bytes("anthropic-stream.sse");
    byte[] cut = java.util.Arrays.copyOf(stream, stream.length - 40);
    http.then(FakeResponse.sse(cut, 100));
    List<String> tokens = new ArrayList<>();
    assertThatThrownBy(() -> anthropic().stream(HELLO, tokens::add))
        .isInstanceOfSatisfying(
            HttpProtocolException.class,
            e -> {
              assertThat(e.getMessage()).contains("message_stop").contains("inside an event");
              assertThat(e.requestMayHaveBeenProcessed()).isTrue();
            });
    assertThat(tokens).containsExactly("Hello", " w\u00f6rld");
  }

  @Test
  void anOpenAiStreamEndingWithoutDoneOrFinishReasonFails() {
    http.then(
        FakeResponse.sse(
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}\n\n"
                .getBytes(StandardCharsets.UTF_8),
            5));
    assertThatThrownBy(() -> openAi().stream(HELLO, t -> {}))
        .isInstanceOf(HttpProtocolException.class)
        .hasMessageContaining("[DONE]");
  }

  @Test
  void aMalformedStreamEventIsAProtocolError() {
    http.then(
        FakeResponse.sse("data: {\"choices\": [oops\n\n".getBytes(StandardCharsets.UTF_8), 4));
    assertThatThrownBy(() -> openAi().stream(HELLO, t -> {}))
        .isInstanceOf(HttpProtocolException.class)
        .hasMessageContaining("stream event");
  }

  @Test
  void anOversizedEventEndsTheCallWithTheLimit() {
    http.then(
        FakeResponse.sse(
            ("data: " + "x".repeat(5000) + "\n\n").getBytes(StandardCharsets.UTF_8), 512));
    DefaultChatClient chat = openAi(settings().withLimits(1 << 20, 1 << 20, 1024));
    assertThatThrownBy(() -> chat.stream(HELLO, t -> {}))
        .isInstanceOfSatisfying(
            SseLimitExceededException.class, e -> assertThat(e.limitBytes()).isEqualTo(1024));
  }

  @Test
  void aListenerThatThrowsEndsTheCallWithItsOwnException() {
    FakeResponse stream = FakeResponse.sse(Fixtures.bytes("openai-stream.sse"), 32);
    http.then(stream);
    IllegalStateException boom = new IllegalStateException("listener failed");
    assertThatThrownBy(
            () ->
                openAi().stream(
                    HELLO,
                    t -> {
                      throw boom;
                    }))
        .isSameAs(boom);
    assertThat(stream.closed()).isTrue();
    assertThat(http.requests).hasSize(1);
  }

  @Test
  void cancellingAnAsyncStreamReleasesTheResponseAndSilencesTheListener() {
    FakeResponse stream = FakeResponse.manualSse();
    http.then(stream);
    List<String> tokens = new ArrayList<>();
    CompletableFuture<ChatResponse> f = anthropic().streamAsync(HELLO, tokens::add);
    List<String> events = Fixtures.events("anthropic-stream.sse");
    for (int i = 0; i < 4; i++) {
      stream.push(events.get(i));
    }
    assertThat(f.cancel(true)).isTrue();
    assertThat(stream.closed()).isTrue();
    assertThat(tokens).containsExactly("Hello");
    assertThatThrownBy(f::join).isInstanceOf(CancellationException.class);
  }

  @Test
  void aStalledStreamEndsAtTimeoutsTotalAndIsReleased() {
    FakeResponse stream = FakeResponse.manualSse();
    http.then(stream);
    CompletableFuture<ChatResponse> f =
        openAi(settings().withTotalTimeout(Duration.ofSeconds(30))).streamAsync(HELLO, t -> {});
    stream.push("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}\n\n");
    manual.advance(Duration.ofSeconds(30));
    assertThat(f).isCompletedExceptionally();
    assertThatThrownBy(f::join)
        .isInstanceOf(CompletionException.class)
        .cause()
        .isInstanceOfSatisfying(
            TotalTimeoutException.class,
            e -> {
              assertThat(e.limit()).isEqualTo(Duration.ofSeconds(30));
              assertThat(e.origin()).hasToString("https://api.openai.com:443");
            });
    assertThat(stream.closed()).isTrue();
  }

  @Test
  void aStalledSendEndsAtTimeoutsTotalAndIsCancelled() {
    CompletableFuture<LlmHttpResponse> pending = new CompletableFuture<>();
    http.thenPending(pending);
    CompletableFuture<ChatResponse> f =
        openAi(settings().withTotalTimeout(Duration.ofSeconds(5))).completeAsync(HELLO);
    manual.advance(Duration.ofSeconds(5));
    assertThat(f).isCompletedExceptionally();
    assertThat(pending).isCancelled();
  }

  @Test
  void aResponseArrivingAfterTheCallEndedIsClosed() {
    // A transport that answers although the call was cancelled (the race where the response wins).
    CompletableFuture<LlmHttpResponse> ignoresCancel =
        new CompletableFuture<>() {
          @Override
          public boolean cancel(boolean mayInterrupt) {
            return false;
          }
        };
    http.thenPending(ignoresCancel);
    CompletableFuture<ChatResponse> f = openAi().completeAsync(HELLO);
    f.cancel(true);
    FakeResponse late = FakeResponse.json(200, Fixtures.text("openai-chat.json"));
    http.responses.add(late);
    ignoresCancel.complete(late);
    assertThat(late.closed()).isTrue();
  }

  @Test
  void interruptingABlockingCallCancelsItAndKeepsTheInterruptFlag() throws Exception {
    CompletableFuture<LlmHttpResponse> pending = new CompletableFuture<>();
    CountDownLatch sent = new CountDownLatch(1);
    http.thenPending(pending);
    http.onSend = sent::countDown;
    AtomicReference<Throwable> thrown = new AtomicReference<>();
    AtomicReference<Boolean> flag = new AtomicReference<>();
    Thread caller =
        new Thread(
            () -> {
              try {
                openAi().complete(HELLO);
              } catch (RuntimeException e) {
                thrown.set(e);
                flag.set(Thread.currentThread().isInterrupted());
              }
            });
    caller.start();
    assertThat(sent.await(30, TimeUnit.SECONDS)).isTrue();
    caller.interrupt();
    caller.join(TimeUnit.SECONDS.toMillis(30));
    assertThat(caller.isAlive()).isFalse();
    assertThat(thrown.get()).isInstanceOf(CancellationException.class).hasMessage("interrupted");
    assertThat(flag.get()).isTrue();
    assertThat(pending).isCancelled();
  }

  @Test
  void aFailedReadOfAnErrorBodyStillGivesTheStatusException() {
    LlmPoolException lost =
        new dev.llmpool.ConnectionLostException(Phase.READ, null, "reset", true, null);
    http.then(FakeResponse.json(500, "{\"error\":").failingAtEnd(lost));
    assertThatThrownBy(() -> openAi().complete(HELLO))
        .isInstanceOfSatisfying(
            ServerErrorException.class, e -> assertThat(e.getSuppressed()).containsExactly(lost));
  }

  @Test
  void everyExceptionIsAnLlmPoolExceptionWithAPhase() {
    StreamListener ignore = t -> {};
    http.then(FakeResponse.json(404, "{}"));
    http.then(FakeResponse.raw(200, "application/json", "[]"));
    for (Runnable call :
        List.<Runnable>of(() -> openAi().complete(HELLO), () -> openAi().stream(HELLO, ignore))) {
      Throwable t = catchIt(call);
      assertThat(t).isInstanceOf(LlmPoolException.class);
      assertThat(((LlmPoolException) t).phase()).isNotNull();
    }
  }
}
