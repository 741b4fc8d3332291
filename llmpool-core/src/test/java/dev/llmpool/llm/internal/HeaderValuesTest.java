package dev.llmpool.llm.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llmpool.llm.RateLimits;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

class HeaderValuesTest {
  /** 2026-01-01T00:00:00Z, ManualTicker's wall clock at zero. */
  private static final long NOW = 1_767_225_600_000L;

  private static HeaderValues.Lookup headers(String... kv) {
    Map<String, String> m = new HashMap<>();
    for (int i = 0; i < kv.length; i += 2) {
      m.put(kv[i], kv[i + 1]);
    }
    return m::get;
  }

  @Test
  void retryAfterMsWinsAndMayBeFractional() {
    assertThat(HeaderValues.retryAfter(headers("retry-after-ms", "1500", "retry-after", "9"), NOW))
        .isEqualTo(Duration.ofMillis(1500));
    assertThat(HeaderValues.retryAfter(headers("retry-after-ms", "12.5"), NOW))
        .isEqualTo(Duration.ofNanos(12_500_000));
  }

  @Test
  void retryAfterInSecondsOrAsAnHttpDate() {
    assertThat(HeaderValues.retryAfter(headers("retry-after", "3"), NOW))
        .isEqualTo(Duration.ofSeconds(3));
    assertThat(HeaderValues.retryAfter(headers("retry-after", "0.25"), NOW))
        .isEqualTo(Duration.ofMillis(250));
    assertThat(
            HeaderValues.retryAfter(headers("retry-after", "Thu, 01 Jan 2026 00:00:07 GMT"), NOW))
        .isEqualTo(Duration.ofSeconds(7));
    assertThat(HeaderValues.retryAfter(headers("retry-after", "Thu Jan  1 00:00:02 2026"), NOW))
        .isEqualTo(Duration.ofSeconds(2));
    // A date in the past is a non-positive wait: the caller backs off instead.
    assertThat(
            HeaderValues.retryAfter(headers("retry-after", "Wed, 31 Dec 2025 23:59:50 GMT"), NOW))
        .isEqualTo(Duration.ofSeconds(-10));
  }

  @Test
  void unparseableRetryAfterIsAbsent() {
    assertThat(HeaderValues.retryAfter(headers(), NOW)).isNull();
    assertThat(HeaderValues.retryAfter(headers("retry-after", "soon"), NOW)).isNull();
    assertThat(HeaderValues.retryAfter(headers("retry-after", "-5"), NOW)).isNull();
    assertThat(HeaderValues.retryAfter(headers("retry-after-ms", "x", "retry-after", "2"), NOW))
        .isEqualTo(Duration.ofSeconds(2));
  }

  @Test
  void goDurationsAsOpenAiSendsThem() {
    assertThat(HeaderValues.goDuration("6m0s")).isEqualTo(Duration.ofMinutes(6));
    assertThat(HeaderValues.goDuration("1s")).isEqualTo(Duration.ofSeconds(1));
    assertThat(HeaderValues.goDuration("12ms")).isEqualTo(Duration.ofMillis(12));
    assertThat(HeaderValues.goDuration("0.5s")).isEqualTo(Duration.ofMillis(500));
    assertThat(HeaderValues.goDuration("1h2m3.5s")).isEqualTo(Duration.ofMillis(3_723_500));
    assertThat(HeaderValues.goDuration("250us")).isEqualTo(Duration.ofNanos(250_000));
    assertThat(HeaderValues.goDuration("7ns")).isEqualTo(Duration.ofNanos(7));
    assertThat(HeaderValues.goDuration("20")).isEqualTo(Duration.ofSeconds(20));
    assertThat(HeaderValues.goDuration("")).isNull();
    assertThat(HeaderValues.goDuration("5 minutes")).isNull();
    assertThat(HeaderValues.goDuration("s")).isNull();
    assertThat(HeaderValues.goDuration("1x")).isNull();
  }

  @Test
  void openAiRateLimitsParseWithResetsOnOurClock() {
    RateLimits rl =
        HeaderValues.rateLimits(
            headers(
                "x-ratelimit-limit-requests", "5000",
                "x-ratelimit-remaining-requests", "4999",
                "x-ratelimit-reset-requests", "12ms",
                "x-ratelimit-limit-tokens", "160000",
                "x-ratelimit-remaining-tokens", "159976",
                "x-ratelimit-reset-tokens", "6m0s"),
            NOW);
    assertThat(rl.requests().limit()).isEqualTo(OptionalLong.of(5000));
    assertThat(rl.requests().remaining()).isEqualTo(OptionalLong.of(4999));
    assertThat(rl.requests().reset()).contains(Instant.ofEpochMilli(NOW + 12));
    assertThat(rl.tokens().remaining()).isEqualTo(OptionalLong.of(159976));
    assertThat(rl.tokens().reset()).contains(Instant.ofEpochMilli(NOW + 360_000));
    assertThat(rl.inputTokens().isEmpty()).isTrue();
  }

  @Test
  void anthropicRateLimitsParse() {
    RateLimits rl =
        HeaderValues.rateLimits(
            headers(
                "anthropic-ratelimit-requests-limit", "1000",
                "anthropic-ratelimit-requests-remaining", "999",
                "anthropic-ratelimit-requests-reset", "2026-01-01T00:00:01Z",
                "anthropic-ratelimit-tokens-limit", "96000",
                "anthropic-ratelimit-tokens-remaining", "96000",
                "anthropic-ratelimit-tokens-reset", "2026-01-01T00:00:00.5Z",
                "anthropic-ratelimit-input-tokens-limit", "80000",
                "anthropic-ratelimit-input-tokens-remaining", "0",
                "anthropic-ratelimit-input-tokens-reset", "2026-01-01T01:00:30+01:00",
                "anthropic-ratelimit-output-tokens-limit", "16000",
                "anthropic-ratelimit-output-tokens-remaining", "16000",
                "anthropic-ratelimit-output-tokens-reset", "2026-01-01T00:00:03Z"),
            NOW);
    assertThat(rl.requests().reset()).contains(Instant.parse("2026-01-01T00:00:01Z"));
    assertThat(rl.tokens().reset()).contains(Instant.parse("2026-01-01T00:00:00.500Z"));
    assertThat(rl.inputTokens().remaining()).isEqualTo(OptionalLong.of(0));
    assertThat(rl.inputTokens().reset()).contains(Instant.parse("2026-01-01T00:00:30Z"));
    assertThat(rl.outputTokens().limit()).isEqualTo(OptionalLong.of(16000));
  }

  @Test
  void absentValuesAreAbsentNotZero() {
    assertThat(HeaderValues.rateLimits(headers(), NOW)).isSameAs(RateLimits.NONE);
    RateLimits partial =
        HeaderValues.rateLimits(
            headers(
                "x-ratelimit-remaining-requests", "3",
                "x-ratelimit-limit-tokens", "-1",
                "x-ratelimit-reset-tokens", "garbage"),
            NOW);
    assertThat(partial.requests().remaining()).isEqualTo(OptionalLong.of(3));
    assertThat(partial.requests().limit()).isEmpty();
    assertThat(partial.requests().reset()).isEmpty();
    // Azure's -1 means "unknown"; an unparseable reset is unknown too.
    assertThat(partial.tokens().isEmpty()).isTrue();
  }

  @Test
  void anthropicResetIsShiftedByTheServersClockSkewBeyondTwoSeconds() {
    // Our clock is 60 s ahead of the server's: a reset 5 s after the server's now is 5 s after
    // ours.
    RateLimits rl =
        HeaderValues.rateLimits(
            headers(
                "date", "Wed, 31 Dec 2025 23:59:00 GMT",
                "anthropic-ratelimit-requests-remaining", "0",
                "anthropic-ratelimit-requests-reset", "2025-12-31T23:59:05Z"),
            NOW);
    assertThat(rl.requests().reset()).contains(Instant.ofEpochMilli(NOW + 5_000));
    // Within the Date header's resolution, no shift.
    RateLimits near =
        HeaderValues.rateLimits(
            headers(
                "date", "Thu, 01 Jan 2026 00:00:01 GMT",
                "anthropic-ratelimit-requests-reset", "2026-01-01T00:00:05Z"),
            NOW);
    assertThat(near.requests().reset()).contains(Instant.parse("2026-01-01T00:00:05Z"));
  }

  @Test
  void shouldRetryAndRequestId() {
    assertThat(HeaderValues.shouldRetry(headers("x-should-retry", "true"))).isTrue();
    assertThat(HeaderValues.shouldRetry(headers("x-should-retry", "FALSE"))).isFalse();
    assertThat(HeaderValues.shouldRetry(headers("x-should-retry", "maybe"))).isNull();
    assertThat(HeaderValues.requestId(headers("request-id", "req_1"))).isEqualTo("req_1");
    assertThat(HeaderValues.requestId(headers("x-request-id", "a", "request-id", "b")))
        .isEqualTo("a");
    assertThat(HeaderValues.requestId(headers("apim-request-id", "az"))).isEqualTo("az");
  }
}
