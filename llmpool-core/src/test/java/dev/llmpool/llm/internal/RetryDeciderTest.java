package dev.llmpool.llm.internal;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import dev.llmpool.ConnectFailedException;
import dev.llmpool.ConnectionLostException;
import dev.llmpool.DnsException;
import dev.llmpool.HttpProtocolException;
import dev.llmpool.Origin;
import dev.llmpool.Phase;
import dev.llmpool.PoolTimeoutException;
import dev.llmpool.ReadTimeoutException;
import dev.llmpool.TlsException;
import dev.llmpool.llm.ApiStatusException;
import dev.llmpool.llm.RetryPolicy;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class RetryDeciderTest {
  private static final Origin ORIGIN = Origin.of("https://api.anthropic.com");
  private static final long SECOND = 1_000_000_000L;
  private static final long TOTAL = 600 * SECOND;

  /** Jitter source fixed at 0.5: every backoff is shortened by an eighth with jitter 0.25. */
  private final RetryDecider decider = new RetryDecider(RetryPolicy.DEFAULT, () -> 0.5);

  private static ApiStatusException status(int status, String... headers) {
    Map<String, String> m = new HashMap<>();
    for (int i = 0; i < headers.length; i += 2) {
      m.put(headers[i], headers[i + 1]);
    }
    return ApiErrors.fromResponse(
        ORIGIN, status, m::get, "{}".getBytes(UTF_8), Redactor.NONE, 1_767_225_600_000L);
  }

  private RetryDecider.Decision first(Throwable t) {
    return decider.decide(t, 1, false, 0, TOTAL, 0);
  }

  @ParameterizedTest
  @ValueSource(ints = {408, 409, 429, 500, 502, 503, 504, 529})
  void retryableStatusesAreRetried(int code) {
    RetryDecider.Decision d = first(status(code));
    assertThat(d.retry()).as("status %d", code).isTrue();
    assertThat(d.reason()).isEqualTo("http " + code);
  }

  @ParameterizedTest
  @ValueSource(ints = {400, 401, 403, 404, 413, 422, 501, 505, 418})
  void otherStatusesAreNot(int code) {
    assertThat(first(status(code)).retry()).as("status %d", code).isFalse();
  }

  @Test
  void xShouldRetryOverridesTheStatusRule() {
    assertThat(first(status(400, "x-should-retry", "true")).retry()).isTrue();
    assertThat(first(status(429, "x-should-retry", "false")).retry()).isFalse();
    assertThat(first(status(503, "x-should-retry", "bogus")).retry()).isTrue();
  }

  @Test
  void backoffDoublesFromHalfASecondCappedAtEightSecondsWithJitter() {
    RetryDecider noJitter =
        new RetryDecider(RetryPolicy.builder().maxRetries(10).build(), () -> 0.0);
    long[] expected = {500, 1000, 2000, 4000, 8000, 8000, 8000};
    for (int attempt = 1; attempt <= expected.length; attempt++) {
      assertThat(noJitter.decide(status(500), attempt, false, 0, TOTAL, 0).delayNanos())
          .as("attempt %d", attempt)
          .isEqualTo(expected[attempt - 1] * 1_000_000L);
    }
    // With the source at 0.5 and jitter 0.25: 500 ms * (1 - 0.125).
    assertThat(first(status(500)).delayNanos()).isEqualTo(437_500_000L);
    RetryDecider maxJitter = new RetryDecider(RetryPolicy.DEFAULT, () -> 0.999999);
    assertThat(maxJitter.decide(status(500), 1, false, 0, TOTAL, 0).delayNanos())
        .isBetween(375_000_000L, 375_001_000L);
  }

  @Test
  void theServersWaitIsHonouredExactly() {
    assertThat(first(status(429, "retry-after", "3")).delayNanos()).isEqualTo(3 * SECOND);
    assertThat(first(status(429, "retry-after-ms", "1250", "retry-after", "3")).delayNanos())
        .isEqualTo(1_250_000_000L);
    // Zero or a date in the past: backoff instead.
    assertThat(first(status(429, "retry-after", "0")).delayNanos()).isEqualTo(437_500_000L);
  }

  @Test
  void aServerWaitBeyondMaxRetryDelayIsNotRetried() {
    RetryDecider.Decision d = first(status(429, "retry-after", "61"));
    assertThat(d.retry()).isFalse();
    assertThat(d.reason()).contains("61000 ms").contains("maxRetryDelay");
    assertThat(first(status(429, "retry-after", "60")).retry()).isTrue();
  }

  @Test
  void retriesStopAtMaxRetries() {
    assertThat(decider.decide(status(500), 2, false, 0, TOTAL, 0).retry()).isTrue();
    RetryDecider.Decision third = decider.decide(status(500), 3, false, 0, TOTAL, 0);
    assertThat(third.retry()).isFalse();
    assertThat(third.reason()).contains("maxRetries 2");
    assertThat(
            new RetryDecider(RetryPolicy.NONE, () -> 0)
                .decide(status(500), 1, false, 0, TOTAL, 0)
                .retry())
        .isFalse();
  }

  @Test
  void neverAfterAStreamDeliveredOutput() {
    RetryDecider.Decision d = decider.decide(status(529), 1, true, 0, TOTAL, 0);
    assertThat(d.retry()).isFalse();
    assertThat(d.reason()).contains("delivered");
  }

  @Test
  void theWaitMustEndBeforeTimeoutsTotal() {
    // 3 s wait, 57.5 s spent of a 60 s total: 60.5 > 60, no retry.
    assertThat(
            decider
                .decide(status(429, "retry-after", "3"), 1, false, 57_500_000_000L, 60 * SECOND, 0)
                .retry())
        .isFalse();
    assertThat(
            decider
                .decide(status(429, "retry-after", "3"), 1, false, 56_000_000_000L, 60 * SECOND, 0)
                .retry())
        .isTrue();
  }

  @Test
  void waitsTogetherAreCappedByMaxTotalRetryDelay() {
    RetryDecider capped =
        new RetryDecider(
            RetryPolicy.builder().maxTotalRetryDelay(Duration.ofSeconds(5)).build(), () -> 0);
    assertThat(
            capped.decide(status(429, "retry-after", "3"), 1, false, 0, TOTAL, 2 * SECOND).retry())
        .isTrue();
    assertThat(
            capped
                .decide(status(429, "retry-after", "3"), 1, false, 0, TOTAL, 2_500_000_000L)
                .retry())
        .isFalse();
  }

  @Test
  void connectionFailuresThatProvablyDidNotReachTheServerAreRetried() {
    assertThat(first(new ConnectFailedException(ORIGIN, "refused", false, null)).retry()).isTrue();
    assertThat(first(new DnsException(ORIGIN, "SERVFAIL", false, null)).retry()).isTrue();
    assertThat(
            first(new ConnectionLostException(Phase.WRITE, ORIGIN, "reset", false, null)).retry())
        .isTrue();
  }

  @Test
  void failuresThatMayHaveBeenProcessedAreRetriedOnlyWhenAllowed() {
    ConnectionLostException lost =
        new ConnectionLostException(Phase.READ, ORIGIN, "reset", true, null);
    ReadTimeoutException slow =
        new ReadTimeoutException(ORIGIN, "slow", Duration.ofSeconds(1), true, null);
    HttpProtocolException cut = new HttpProtocolException(ORIGIN, "cut", true, null);
    assertThat(first(lost).retry()).isFalse();
    assertThat(first(slow).retry()).isFalse();
    assertThat(first(cut).retry()).isFalse();
    RetryDecider optIn =
        new RetryDecider(RetryPolicy.builder().retryMaybeProcessed(true).build(), () -> 0);
    assertThat(optIn.decide(lost, 1, false, 0, TOTAL, 0).retry()).isTrue();
    assertThat(optIn.decide(slow, 1, false, 0, TOTAL, 0).retry()).isTrue();
    assertThat(optIn.decide(cut, 1, false, 0, TOTAL, 0).retry()).isTrue();
  }

  @Test
  void poolTlsAndForeignFailuresAreNotRetried() {
    assertThat(first(new PoolTimeoutException(ORIGIN, "pool", Duration.ofSeconds(1))).retry())
        .isFalse();
    assertThat(first(new TlsException(ORIGIN, "bad cert", false, null)).retry()).isFalse();
    assertThat(first(new IllegalStateException("bug")).retry()).isFalse();
  }

  @Test
  void errorEventsRetryByTheStatusTheyStandForAndIgnoreHeaders() {
    ApiStatusException overloaded =
        ApiErrors.fromEvent(
            ORIGIN,
            new ProviderErrorEvent(
                Json.parse("{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\"}}", "e"),
                "{}"),
            name -> name.equals("x-should-retry") ? "false" : null,
            Redactor.NONE,
            0);
    RetryDecider.Decision d = first(overloaded);
    assertThat(d.retry()).isTrue();
    assertThat(d.reason()).isEqualTo("error event overloaded_error");
    ApiStatusException invalid =
        ApiErrors.fromEvent(
            ORIGIN,
            new ProviderErrorEvent(
                Json.parse(
                    "{\"type\":\"error\",\"error\":{\"type\":\"invalid_request_error\"}}", "e"),
                "{}"),
            name -> null,
            Redactor.NONE,
            0);
    assertThat(first(invalid).retry()).isFalse();
  }
}
