package dev.llmpool.llm;

import static dev.llmpool.llm.Wire.assertNoActiveConnection;
import static dev.llmpool.llm.Wire.until;
import static org.assertj.core.api.Assertions.assertThat;

import dev.llmpool.EventListener;
import dev.llmpool.LlmPool;
import dev.llmpool.Timeouts;
import dev.llmpool.llm.Wire.Api;
import dev.llmpool.testkit.MockLlmServer;
import dev.llmpool.testkit.Reply;
import dev.llmpool.time.ManualScheduler;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Retries and pacing over the real pool and the mock server, timed by an injected {@link
 * ManualScheduler}: waits are read from the scheduler's queue and ended by advancing it, so the
 * tests check each delay exactly without sleeping or reading the wall clock.
 */
class ChatRetryAndPacingTest {
  private static final List<Message> ASK = List.of(Message.user("hello there"));

  /** Hears the retries the chat layer reports. */
  private static final class Retries implements EventListener {
    final List<String> events = new CopyOnWriteArrayList<>();

    @Override
    public void retry(CallInfo call, String reason, Duration delay, int attempt) {
      events.add(
          call.method()
              + " "
              + call.path()
              + " attempt "
              + attempt
              + " after "
              + delay.toMillis()
              + " ms: "
              + reason);
    }
  }

  private static List<Arguments> wiresAndApis() {
    return List.of(
        Arguments.of(Wire.HTTP_1_1, Api.OPENAI),
        Arguments.of(Wire.HTTP_1_1, Api.ANTHROPIC),
        Arguments.of(Wire.H2C, Api.OPENAI),
        Arguments.of(Wire.H2, Api.ANTHROPIC));
  }

  /** The pending deadlines of {@code clock} within [from, to] (ticker nanos). */
  private static List<Long> deadlinesWithin(ManualScheduler clock, long from, long to) {
    return clock.pendingDeadlines().stream().filter(d -> d >= from && d <= to).toList();
  }

  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("wiresAndApis")
  void aRateLimitedCallWaitsWhatRetryAfterSaysThenSucceeds(Wire wire, Api api) throws Exception {
    ManualScheduler clock = new ManualScheduler();
    Retries retries = new Retries();
    List<ChatObservation> seen = new CopyOnWriteArrayList<>();
    try (MockLlmServer server = wire.server().start();
        LlmPool pool =
            wire.pool(server, api)
                .scheduler(clock)
                .eventListener(retries)
                .chatObserver(seen::add)
                .build()) {
      ChatClient chat = api.client(pool, "m");
      for (boolean streaming : new boolean[] {false, true}) {
        retries.events.clear();
        long before = server.requestCount();
        server.enqueue(Reply.error(429).toBuilder().retryAfter(Duration.ofMillis(1500)).build());
        long t0 = clock.ticker().nanoTime();
        List<String> pieces = new CopyOnWriteArrayList<>();
        CompletableFuture<ChatResponse> f =
            streaming ? chat.streamAsync(ASK, pieces::add) : chat.completeAsync(ASK);
        long retryAt = t0 + Duration.ofMillis(1500).toNanos();
        until(() -> clock.pendingDeadlines().contains(retryAt));
        assertThat(server.requestCount()).isEqualTo(before + 1);
        assertThat(f).isNotDone();

        clock.advance(Duration.ofMillis(1499));
        assertThat(clock.pendingDeadlines()).as("not retried before Retry-After").contains(retryAt);
        assertThat(f).isNotDone();
        clock.advance(Duration.ofMillis(1));
        ChatResponse r = f.get(20, TimeUnit.SECONDS);

        assertThat(r.text()).isEqualTo("Mock reply to: hello there");
        assertThat(r.attempts()).isEqualTo(2);
        assertThat(server.requestCount()).isEqualTo(before + 2);
        assertThat(retries.events)
            .containsExactly("POST " + api.path() + " attempt 2 after 1500 ms: http 429");
        assertThat(r.latency()).isGreaterThanOrEqualTo(Duration.ofMillis(1500));
        if (streaming) {
          assertThat(String.join("", pieces)).isEqualTo(r.text());
        }
        int calls = streaming ? 2 : 1;
        until(() -> seen.size() == calls);
        ChatObservation o = seen.get(calls - 1);
        assertThat(o.attempts()).isEqualTo(2);
        assertThat(o.errorType()).isNull();
      }
      assertNoActiveConnection(pool);
      assertThat(server.stats().connectionsAccepted()).isEqualTo(1);
    }
  }

  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("wiresAndApis")
  void overloadedIsRetriedAfterAJitteredBackoffAndGivesUpAfterMaxRetries(Wire wire, Api api)
      throws Exception {
    ManualScheduler clock = new ManualScheduler();
    Retries retries = new Retries();
    try (MockLlmServer server = wire.server().start();
        LlmPool pool = wire.pool(server, api).scheduler(clock).eventListener(retries).build()) {
      ChatClient chat = api.client(pool, "m");
      // 529 carries no Retry-After: 0.5 s, then 1 s, each shortened by up to 25 % of jitter.
      server.enqueue(Reply.error(529), Reply.error(529), Reply.error(529));
      CompletableFuture<ChatResponse> f = chat.completeAsync(ASK);
      for (long base : new long[] {500, 1000}) {
        long now = clock.ticker().nanoTime();
        long from = now + Duration.ofMillis(base * 3 / 4).toNanos();
        long to = now + Duration.ofMillis(base).toNanos();
        until(() -> deadlinesWithin(clock, from, to).size() == 1);
        long at = deadlinesWithin(clock, from, to).get(0);
        clock.advance(Duration.ofNanos(at - now));
      }
      assertThat(f)
          .failsWithin(Duration.ofSeconds(20))
          .withThrowableThat()
          .havingCause()
          .isInstanceOf(OverloadedException.class)
          .satisfies(
              e -> {
                OverloadedException o = (OverloadedException) e;
                assertThat(o.status()).isEqualTo(529);
                // The earlier attempts' failures ride along as suppressed exceptions.
                assertThat(o.getSuppressed()).hasSize(2);
                assertThat(o.requestMayHaveBeenProcessed()).isFalse();
              });
      assertThat(server.requestCount()).isEqualTo(3);
      assertThat(retries.events).hasSize(2);
      assertThat(retries.events.get(0)).contains("attempt 2").endsWith("http 529");
      assertThat(retries.events.get(1)).contains("attempt 3").endsWith("http 529");
      assertNoActiveConnection(pool);
    }
  }

  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("wiresAndApis")
  void pacingHoldsANewCallUntilTheResetInsteadOfProvokingA429(Wire wire, Api api) throws Exception {
    ManualScheduler clock = new ManualScheduler();
    // One request a minute: after the first call nothing is left until the window resets.
    try (MockLlmServer server = wire.server().rateLimits(1, 1_000_000).start();
        LlmPool pool =
            wire.pool(server, api)
                .scheduler(clock)
                .pacing(Pacing.builder().maxWait(Duration.ofMinutes(2)).build())
                .timeouts(Timeouts.builder().pool(Duration.ofMinutes(2)).build())
                .build()) {
      ChatClient chat = api.client(pool, "m");
      ChatResponse first = chat.completeAsync(ASK).get(20, TimeUnit.SECONDS);
      assertThat(first.rateLimits().requests().remaining()).hasValue(0);
      long resetAt = first.rateLimits().requests().reset().orElseThrow().toEpochMilli();

      long now = clock.ticker().nanoTime();
      CompletableFuture<ChatResponse> second = chat.completeAsync(ASK);
      // The reset is about a minute away (the server's window), read on the injected clock.
      List<Long> paced =
          deadlinesWithin(
              clock,
              now + Duration.ofSeconds(55).toNanos(),
              now + Duration.ofSeconds(65).toNanos());
      assertThat(paced).as("the call waits for the reset").hasSize(1);
      assertThat(server.requestCount()).as("nothing sent while used up").isEqualTo(1);
      long waitMillis = (paced.get(0) - now) / 1_000_000L;
      assertThat(clock.ticker().currentTimeMillis() + waitMillis).isEqualTo(resetAt);

      clock.advance(Duration.ofNanos(paced.get(0) - now - 1));
      assertThat(second).isNotDone();
      assertThat(server.requestCount()).isEqualTo(1);
      clock.advance(Duration.ofNanos(1));
      ChatResponse r = second.get(20, TimeUnit.SECONDS);
      assertThat(r.attempts()).isEqualTo(1);
      assertThat(r.latency()).isGreaterThanOrEqualTo(Duration.ofMillis(waitMillis));
      assertThat(server.requestCount()).isEqualTo(2);
      assertNoActiveConnection(pool);
    }
  }

  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("wiresAndApis")
  void pacingNeverWaitsLongerThanThePoolTimeout(Wire wire, Api api) throws Exception {
    ManualScheduler clock = new ManualScheduler();
    try (MockLlmServer server = wire.server().rateLimits(1, 1_000_000).start();
        LlmPool pool =
            wire.pool(server, api)
                .scheduler(clock)
                .pacing(Pacing.builder().maxWait(Duration.ofMinutes(2)).build())
                .timeouts(Timeouts.builder().pool(Duration.ofSeconds(10)).build())
                .build()) {
      ChatClient chat = api.client(pool, "m");
      chat.completeAsync(ASK).get(20, TimeUnit.SECONDS);
      // The reset is a minute away, beyond the 10 s pool timeout: sent at once, the server decides.
      ChatResponse r = chat.completeAsync(ASK).get(20, TimeUnit.SECONDS);
      assertThat(r.attempts()).isEqualTo(1);
      assertThat(server.requestCount()).isEqualTo(2);
      assertThat(clock.ticker().nanoTime()).as("no time had to pass").isZero();
      assertNoActiveConnection(pool);
    }
  }

  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("wiresAndApis")
  void withoutPacingTheRateLimitHeadersOnlyInform(Wire wire, Api api) throws Exception {
    ManualScheduler clock = new ManualScheduler();
    try (MockLlmServer server = wire.server().rateLimits(1, 1_000_000).start();
        LlmPool pool = wire.pool(server, api).scheduler(clock).build()) {
      ChatClient chat = api.client(pool, "m");
      chat.completeAsync(ASK).get(20, TimeUnit.SECONDS);
      chat.completeAsync(ASK).get(20, TimeUnit.SECONDS);
      assertThat(server.requestCount()).isEqualTo(2);
      assertNoActiveConnection(pool);
    }
  }
}
