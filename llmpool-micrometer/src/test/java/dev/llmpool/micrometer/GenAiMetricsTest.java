package dev.llmpool.micrometer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.llmpool.LlmPool;
import dev.llmpool.llm.ChatClient;
import dev.llmpool.llm.ChatObservation;
import dev.llmpool.llm.ChatOptions;
import dev.llmpool.llm.ChatResponse;
import dev.llmpool.llm.Message;
import dev.llmpool.llm.RateLimitException;
import dev.llmpool.llm.RetryPolicy;
import dev.llmpool.testkit.MockLlmServer;
import dev.llmpool.testkit.Reply;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.search.RequiredSearch;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@link LlmPoolMetrics}' GenAI meters, fed by the pool's chat clients against the testkit's mock
 * server over real sockets and read back from a {@link SimpleMeterRegistry}: OpenTelemetry GenAI
 * names and attributes, token usage, duration, time to first chunk, rate limits, failures, the cap
 * on model names, and no key or prompt in any tag.
 */
class GenAiMetricsTest {
  static final String KEY = "sk-secret-0123456789";
  static final String PROMPT = "prompt-7c1e why is the sky blue";
  static final String TEXT = "Rayleigh scattering makes short wavelengths scatter more.";
  static final List<Message> ASK = List.of(Message.user(PROMPT));

  SimpleMeterRegistry registry;
  MockLlmServer server;

  @BeforeEach
  void setUp() {
    registry = new SimpleMeterRegistry();
    server = MockLlmServer.builder().http1Only(true).defaultReply(Reply.text(TEXT)).build().start();
  }

  @AfterEach
  void tearDown() {
    server.close();
  }

  LlmPool.Builder openAi(LlmPoolMetrics metrics) {
    return LlmPool.builder()
        .baseUrl(server.baseUrl() + "/v1")
        .bearerToken(KEY)
        .http2(false)
        .ioThreads(1)
        .metrics(metrics);
  }

  static void until(BooleanSupplier condition) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (!condition.getAsBoolean()) {
      assertThat(System.nanoTime()).as("condition not met within 20 s").isLessThan(deadline);
      LockSupport.parkNanos(1_000_000L);
    }
  }

  RequiredSearch genAi(String name, String provider, String model) {
    return registry
        .get(name)
        .tag("gen_ai.operation.name", "chat")
        .tag("gen_ai.provider.name", provider)
        .tag("gen_ai.system", provider)
        .tag("gen_ai.request.model", model)
        .tag("server.address", "127.0.0.1")
        .tag("server.port", Integer.toString(server.port()));
  }

  RequiredSearch rate(String name, String provider, String model) {
    return registry
        .get(name)
        .tag("gen_ai.provider.name", provider)
        .tag("gen_ai.system", provider)
        .tag("gen_ai.request.model", model)
        .tag("server.address", "127.0.0.1")
        .tag("server.port", Integer.toString(server.port()));
  }

  /** Calls observed so far: every GenAI duration timer's count, summed. */
  long observed() {
    long n = 0;
    for (Timer t : registry.find("gen_ai.client.operation.duration").timers()) {
      n += t.count();
    }
    return n;
  }

  @Test
  void aCompletedCallRecordsTokensDurationAndRateLimitsUnderGenAiNames() {
    try (LlmPool pool = openAi(new LlmPoolMetrics(registry)).build()) {
      ChatResponse r = pool.openAiChat("gpt-test").complete(ASK);
      until(() -> observed() == 1);

      Timer duration =
          genAi("gen_ai.client.operation.duration", "openai", "gpt-test")
              .tag("gen_ai.response.model", "gpt-test")
              .tag("error.type", "")
              .timer();
      assertThat(duration.count()).isOne();
      assertThat(duration.totalTime(TimeUnit.NANOSECONDS)).isEqualTo(r.latency().toNanos());

      DistributionSummary input =
          genAi("gen_ai.client.token.usage", "openai", "gpt-test")
              .tag("gen_ai.token.type", "input")
              .summary();
      DistributionSummary output =
          genAi("gen_ai.client.token.usage", "openai", "gpt-test")
              .tag("gen_ai.token.type", "output")
              .summary();
      assertThat(r.usage()).isNotNull();
      assertThat(input.count()).isOne();
      assertThat(input.totalAmount()).isEqualTo(r.usage().inputTokens()).isPositive();
      assertThat(output.totalAmount()).isEqualTo(r.usage().outputTokens()).isPositive();
      assertThat(input.getId().getBaseUnit()).isEqualTo("tokens");
      assertThat(input.getId().getTag("error.type")).as("usage comes only with successes").isNull();

      assertThat(registry.find("gen_ai.client.operation.time_to_first_chunk").timers())
          .as("not a stream")
          .isEmpty();

      long remaining = r.rateLimits().requests().remaining().orElseThrow();
      assertThat(
              rate("llmpool.llm.rate_limit.remaining", "openai", "gpt-test")
                  .tag("llmpool.rate_limit.window", "requests")
                  .gauge()
                  .value())
          .isEqualTo(remaining);
      assertThat(
              rate("llmpool.llm.rate_limit.limit", "openai", "gpt-test")
                  .tag("llmpool.rate_limit.window", "tokens")
                  .gauge()
                  .value())
          .isEqualTo(r.rateLimits().tokens().limit().orElseThrow());

      // The next call lowers the remaining requests, and the gauge follows.
      ChatResponse again = pool.openAiChat("gpt-test").complete(ASK);
      until(() -> observed() == 2);
      assertThat(again.rateLimits().requests().remaining().orElseThrow()).isLessThan(remaining);
      assertThat(
              rate("llmpool.llm.rate_limit.remaining", "openai", "gpt-test")
                  .tag("llmpool.rate_limit.window", "requests")
                  .gauge()
                  .value())
          .isEqualTo(again.rateLimits().requests().remaining().orElseThrow());
      assertThat(duration.count()).isEqualTo(2);
    }
  }

  @Test
  void aStreamRecordsItsTimeToFirstChunk() {
    List<ChatObservation> seen = new CopyOnWriteArrayList<>();
    Reply paced = Reply.text(TEXT).toBuilder().tokensPerSecond(500).build();
    server.enqueue(paced);
    try (LlmPool pool = openAi(new LlmPoolMetrics(registry)).chatObserver(seen::add).build()) {
      List<String> pieces = new ArrayList<>();
      ChatResponse r = pool.openAiChat("gpt-stream").stream(ASK, pieces::add);
      assertThat(String.join("", pieces)).isEqualTo(TEXT);
      until(() -> observed() == 1 && seen.size() == 1);

      Timer first =
          genAi("gen_ai.client.operation.time_to_first_chunk", "openai", "gpt-stream").timer();
      assertThat(first.count()).isOne();
      assertThat(first.totalTime(TimeUnit.NANOSECONDS))
          .isEqualTo(seen.get(0).timeToFirstChunk().toNanos())
          .isPositive();
      Timer duration = genAi("gen_ai.client.operation.duration", "openai", "gpt-stream").timer();
      assertThat(first.totalTime(TimeUnit.NANOSECONDS))
          .isLessThanOrEqualTo(duration.totalTime(TimeUnit.NANOSECONDS));
      assertThat(
              genAi("gen_ai.client.token.usage", "openai", "gpt-stream")
                  .tag("gen_ai.token.type", "output")
                  .summary()
                  .totalAmount())
          .as("the stream asked for usage")
          .isEqualTo(r.usage().outputTokens());
    }
  }

  @Test
  void anthropicCallsAreTaggedAnthropicWithTheirTokenWindows() {
    try (LlmPool pool =
        LlmPool.builder()
            .baseUrl(server.baseUrl().toString())
            .apiKey("x-api-key", KEY)
            .http2(false)
            .ioThreads(1)
            .metrics(new LlmPoolMetrics(registry))
            .build()) {
      ChatResponse r = pool.anthropicMessages("claude-test").complete(ASK);
      until(() -> observed() == 1);
      assertThat(genAi("gen_ai.client.operation.duration", "anthropic", "claude-test").timer())
          .extracting(Timer::count)
          .isEqualTo(1L);
      assertThat(
              genAi("gen_ai.client.token.usage", "anthropic", "claude-test")
                  .tag("gen_ai.token.type", "input")
                  .summary()
                  .totalAmount())
          .isEqualTo(r.usage().inputTokens());
      assertThat(
              rate("llmpool.llm.rate_limit.remaining", "anthropic", "claude-test")
                  .tag("llmpool.rate_limit.window", "output_tokens")
                  .gauge()
                  .value())
          .isEqualTo(r.rateLimits().outputTokens().remaining().orElseThrow());
    }
  }

  @Test
  void aFailedCallIsTimedWithItsErrorTypeAndItsRateLimitsStillCount() {
    server.enqueue(Reply.error(429));
    server.enqueue(Reply.error(500));
    try (LlmPool pool =
        openAi(new LlmPoolMetrics(registry)).retryPolicy(RetryPolicy.NONE).build()) {
      ChatClient chat = pool.openAiChat("gpt-test");
      assertThatThrownBy(() -> chat.complete(ASK)).isInstanceOf(RateLimitException.class);
      assertThatThrownBy(() -> chat.complete(ASK)).hasMessageContaining("500");
      until(() -> observed() == 2);

      Timer limited =
          genAi("gen_ai.client.operation.duration", "openai", "gpt-test")
              .tag("error.type", "429")
              .timer();
      assertThat(limited.count()).isOne();
      assertThat(limited.getId().getTag("gen_ai.response.model")).isEmpty();
      assertThat(
              genAi("gen_ai.client.operation.duration", "openai", "gpt-test")
                  .tag("error.type", "500")
                  .timer()
                  .count())
          .isOne();
      assertThat(registry.find("gen_ai.client.token.usage").summaries())
          .as("a failure reports no usage")
          .isEmpty();
      assertThat(
              rate("llmpool.llm.rate_limit.remaining", "openai", "gpt-test")
                  .tag("llmpool.rate_limit.window", "requests")
                  .gauge()
                  .value())
          .as("an error response's rate-limit headers count too")
          .isNotNaN();
    }
  }

  @Test
  void modelNamesBeyondTheCapAndImplausibleOnesAreOther() {
    try (LlmPool pool = openAi(LlmPoolMetrics.builder().maxModels(2).bindTo(registry)).build()) {
      ChatClient chat = pool.openAiChat("model-a");
      for (String model : List.of("model-a", "model-b", "model-c", "model-d")) {
        chat.complete(ASK, ChatOptions.model(model));
      }
      chat.complete(ASK, ChatOptions.model("model with spaces " + "x".repeat(200)));
      until(() -> observed() == 5);

      List<String> requestModels = new ArrayList<>();
      for (Meter m : registry.find("gen_ai.client.operation.duration").meters()) {
        requestModels.add(m.getId().getTag("gen_ai.request.model"));
      }
      assertThat(requestModels).containsExactlyInAnyOrder("model-a", "model-b", "_OTHER");
      assertThat(
              genAi("gen_ai.client.operation.duration", "openai", "_OTHER")
                  .tag("gen_ai.response.model", "_OTHER")
                  .timer()
                  .count())
          .isEqualTo(3);
      for (Meter m : registry.getMeters()) {
        assertThat(m.getId().getTag("gen_ai.response.model"))
            .isIn(null, "model-a", "model-b", "_OTHER");
      }
    }
  }

  @Test
  void noTagCarriesTheKeyThePromptOrTheAnswer() {
    try (LlmPool pool = openAi(new LlmPoolMetrics(registry)).build()) {
      ChatClient chat = pool.openAiChat("gpt-test");
      chat.complete(ASK);
      chat.stream(ASK, piece -> {});
      until(() -> observed() == 2);
      List<String> values = new ArrayList<>();
      for (Meter m : registry.getMeters()) {
        for (Tag t : m.getId().getTags()) {
          values.add(t.getKey() + "=" + t.getValue());
        }
      }
      assertThat(values).contains("gen_ai.request.model=gpt-test");
      assertThat(values)
          .noneMatch(v -> v.contains(KEY))
          .noneMatch(v -> v.contains("sk-"))
          .noneMatch(v -> v.contains("prompt-7c1e"))
          .noneMatch(v -> v.contains("sky"))
          .noneMatch(v -> v.contains("Rayleigh"))
          .noneMatch(v -> v.contains("chat/completions"));
    }
  }

  @Test
  void aThrowingUserObserverDoesNotCostTheMetricsTheirObservation() {
    try (LlmPool pool =
        openAi(new LlmPoolMetrics(registry))
            .chatObserver(
                o -> {
                  throw new IllegalStateException("user observer fails");
                })
            .build()) {
      ChatResponse r = pool.openAiChat("gpt-test").complete(ASK);
      assertThat(r.text()).isEqualTo(TEXT);
      until(() -> observed() == 1);
    }
  }

  @Test
  void closingThePoolRemovesTheGenAiMeters() {
    LlmPool pool = openAi(new LlmPoolMetrics(registry)).build();
    pool.openAiChat("gpt-test").complete(ASK);
    until(() -> observed() == 1);
    assertThat(registry.find("llmpool.llm.rate_limit.remaining").gauges()).isNotEmpty();
    pool.close();
    assertThat(registry.getMeters()).isEmpty();
  }

  @Test
  void theBuilderRefusesABadModelCap() {
    assertThatThrownBy(() -> LlmPoolMetrics.builder().maxModels(0))
        .hasMessage("maxModels must be at least 1, got 0");
  }

  @Test
  void operationDurationUsesOpenTelemetrysBuckets() {
    try (LlmPool pool = openAi(new LlmPoolMetrics(registry)).build()) {
      pool.openAiChat("gpt-test").complete(ASK);
      until(() -> observed() == 1);
      Timer t = genAi("gen_ai.client.operation.duration", "openai", "gpt-test").timer();
      assertThat(t.takeSnapshot().histogramCounts())
          .as("OpenTelemetry's buckets, from 10 ms")
          .anySatisfy(c -> assertThat(c.bucket(TimeUnit.SECONDS)).isEqualTo(0.01))
          .anySatisfy(c -> assertThat(c.bucket(TimeUnit.SECONDS)).isEqualTo(81.92));
      assertThat(Duration.ofNanos((long) t.totalTime(TimeUnit.NANOSECONDS))).isPositive();
    }
  }
}
