package dev.llmpool.llm.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llmpool.llm.Pacing;
import dev.llmpool.llm.RateLimits;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class RateLimitPacerTest {
  private static final long T0 = 1_767_225_600_000L;

  private static RateLimits requests(long remaining, long resetAt) {
    return new RateLimits(
        new RateLimits.Window(100L, remaining, Instant.ofEpochMilli(resetAt)),
        RateLimits.Window.EMPTY,
        RateLimits.Window.EMPTY,
        RateLimits.Window.EMPTY);
  }

  private static RateLimits tokens(RateLimits.Window tokens, RateLimits.Window input) {
    return new RateLimits(RateLimits.Window.EMPTY, tokens, input, RateLimits.Window.EMPTY);
  }

  @Test
  void offNeverWaits() {
    RateLimitPacer p = new RateLimitPacer(Pacing.OFF);
    p.update(requests(0, T0 + 5000));
    assertThat(p.delayMillis(T0)).isZero();
  }

  @Test
  void waitsForTheResetWhenNoRequestIsLeft() {
    RateLimitPacer p = new RateLimitPacer(Pacing.ON);
    p.update(requests(0, T0 + 5000));
    assertThat(p.delayMillis(T0)).isEqualTo(5000);
    assertThat(p.delayMillis(T0 + 4000)).isEqualTo(1000);
    // Nothing is known after the reset: the window is full again.
    assertThat(p.delayMillis(T0 + 5000)).isZero();
  }

  @Test
  void requestsSentSinceTheLastResponseCountAgainstWhatWasLeft() {
    RateLimitPacer p = new RateLimitPacer(Pacing.ON);
    p.update(requests(2, T0 + 1000));
    assertThat(p.delayMillis(T0)).isZero();
    p.onSend();
    assertThat(p.delayMillis(T0)).isZero();
    p.onSend();
    assertThat(p.delayMillis(T0)).isEqualTo(1000);
    // A fresh response resets the count.
    p.update(requests(5, T0 + 1000));
    assertThat(p.delayMillis(T0)).isZero();
  }

  @Test
  void aReserveOfRequestsCanBeKept() {
    RateLimitPacer p = new RateLimitPacer(Pacing.builder().minRemainingRequests(3).build());
    p.update(requests(4, T0 + 700));
    assertThat(p.delayMillis(T0)).isZero();
    p.onSend();
    assertThat(p.delayMillis(T0)).isEqualTo(700);
  }

  @Test
  void usedUpTokenWindowsWaitForTheLatestReset() {
    RateLimitPacer p = new RateLimitPacer(Pacing.builder().minRemainingTokens(1000).build());
    p.update(
        tokens(
            new RateLimits.Window(90_000L, 999L, Instant.ofEpochMilli(T0 + 2000)),
            new RateLimits.Window(80_000L, 0L, Instant.ofEpochMilli(T0 + 3000))));
    assertThat(p.delayMillis(T0)).isEqualTo(3000);
  }

  @Test
  void withoutAResetTimeThereIsNothingToWaitFor() {
    RateLimitPacer p = new RateLimitPacer(Pacing.ON);
    p.update(
        new RateLimits(
            new RateLimits.Window(null, 0L, null),
            RateLimits.Window.EMPTY,
            RateLimits.Window.EMPTY,
            RateLimits.Window.EMPTY));
    assertThat(p.delayMillis(T0)).isZero();
  }

  @Test
  void responsesWithoutRateLimitHeadersLeaveTheStateAlone() {
    RateLimitPacer p = new RateLimitPacer(Pacing.ON);
    p.update(requests(0, T0 + 5000));
    p.update(RateLimits.NONE);
    assertThat(p.delayMillis(T0)).isEqualTo(5000);
  }
}
