package dev.llmpool;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.llmpool.http.HttpRequest;
import dev.llmpool.http.HttpResponse;
import dev.llmpool.testkit.MockLlmServer;
import dev.llmpool.testkit.RecordedRequest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The facade: configuration, default headers, lifecycle, and what it refuses. */
class LlmPoolTest {
  private static final String KEY = "sk-secret-0123456789";
  private MockLlmServer server;

  @BeforeEach
  void setUp() {
    server = MockLlmServer.builder().build().start();
  }

  @AfterEach
  void tearDown() {
    server.close();
  }

  private LlmPool.Builder pool() {
    return LlmPool.builder()
        .baseUrl(server.baseUrl() + "/v1")
        .bearerToken(KEY)
        .h2cPriorKnowledge("127.0.0.1")
        .ioThreads(1);
  }

  private static HttpRequest chat(String prompt) {
    return HttpRequest.post("/chat/completions")
        .json("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"" + prompt + "\"}]}")
        .build();
  }

  @Test
  void theBuilderRefusesBadInputNamingIt() {
    assertThatThrownBy(() -> LlmPool.builder().baseUrl("ftp://x")).hasMessageContaining("http(s)");
    assertThatThrownBy(() -> LlmPool.builder().baseUrl("/v1")).hasMessageContaining("absolute");
    assertThatThrownBy(() -> LlmPool.builder().baseUrl("https://user:pw@api.example"))
        .hasMessageContaining("credentials")
        .hasMessageNotContaining("pw");
    // A query is kept (Azure's api-version) and, since it may hold a key, never shown.
    assertThat(LlmPool.builder().baseUrl("https://api.example/v1?key=" + KEY).toString())
        .doesNotContain(KEY);
    assertThatThrownBy(() -> LlmPool.builder().baseUrl("https://api.example/v1#" + KEY))
        .hasMessageContaining("fragment")
        .hasMessageNotContaining(KEY);
    assertThatThrownBy(() -> LlmPool.builder().bearerToken(" ")).hasMessageContaining("empty");
    // Finding 4 (docs/interop.md): a line break in the token would inject a header.
    for (String bad : new String[] {KEY + "\r\nX-Injected: 1", KEY + "\nX", KEY + "\u0001x"}) {
      assertThatThrownBy(() -> LlmPool.builder().bearerToken(bad))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("bearerToken has an illegal character at index " + KEY.length())
          .hasMessageNotContaining(KEY);
    }
    assertThatThrownBy(() -> LlmPool.builder().prewarm(-1)).hasMessageContaining("prewarm");
    assertThatThrownBy(() -> LlmPool.builder().maxResponseBodySize(0))
        .hasMessageContaining("maxResponseBodySize");
    assertThatThrownBy(() -> LlmPool.builder().defaultHeader("Host", "x"))
        .hasMessageContaining("managed");
    assertThatThrownBy(() -> LlmPool.builder().prewarm(1).build()).hasMessageContaining("baseUrl");
  }

  @Test
  void defaultHeadersGoWithEveryRequestAndARequestHeaderReplacesOne() {
    try (LlmPool p =
        pool()
            .apiKey("x-api-key", "ak-other")
            .defaultHeader("OpenAI-Beta", "assistants=v2")
            .build()) {
      p.send(chat("one"));
      p.send(
          HttpRequest.post("/chat/completions")
              .header("openai-beta", "mine")
              .json("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"two\"}]}")
              .build());
      RecordedRequest first = server.takeRequest();
      assertThat(first.header("authorization")).isEqualTo("Bearer " + KEY);
      assertThat(first.header("x-api-key")).isEqualTo("ak-other");
      assertThat(first.header("user-agent")).isEqualTo("llmpool/" + LlmPool.VERSION);
      assertThat(first.header("openai-beta")).isEqualTo("assistants=v2");
      assertThat(server.takeRequest().header("openai-beta")).isEqualTo("mine");
    }
  }

  @Test
  void noSecretShowsInToStringOrMessages() {
    LlmPool.Builder b = pool().apiKey("x-api-key", "ak-xyz");
    assertThat(b.toString()).doesNotContain(KEY).doesNotContain("ak-xyz");
    try (LlmPool p = b.build()) {
      assertThat(p.toString()).doesNotContain(KEY);
      HttpRequest r =
          HttpRequest.get("/models?key=" + KEY).header("authorization", "Bearer " + KEY).build();
      assertThat(r.toString()).doesNotContain(KEY);
      assertThat(r.headers().toString()).doesNotContain(KEY);
    }
  }

  @Test
  void closeLetsCallsInFlightFinishThenRefusesNewOnes() throws Exception {
    LlmPool p = pool().closeGracePeriod(Duration.ofSeconds(10)).build();
    CompletableFuture<HttpResponse> inFlight =
        p.sendAsync(
            HttpRequest.post("/chat/completions")
                .header("x-mock-fault", "none;latency=300ms")
                .json("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}")
                .build());
    server.awaitStats(s -> s.requestsServed() == 1, Duration.ofSeconds(20));
    p.close();
    assertThat(inFlight.get(1, TimeUnit.SECONDS).status()).isEqualTo(200);
    assertThat(p.isClosed()).isTrue();
    assertThatThrownBy(() -> p.send(chat("late"))).isInstanceOf(PoolClosedException.class);
    p.close(); // idempotent
    assertThat(p.stats().open()).isZero();
  }

  @Test
  void preWarmedConnectionsServeTheFirstCalls() {
    try (LlmPool p = pool().http2(false).prewarm(2).build()) {
      server.awaitStats(s -> s.connectionsAccepted() == 2, Duration.ofSeconds(20));
      assertThat(p.send(chat("one")).status()).isEqualTo(200);
      assertThat(server.stats().connectionsAccepted()).isEqualTo(2);
      assertThat(p.stats().opened()).isEqualTo(2);
    }
  }

  @Test
  void manyPoolsToOneOriginAreWarnedAboutOnce() {
    Origin origin = Origin.of(server.baseUrl());
    List<LlmPool> pools = new ArrayList<>();
    try {
      for (int i = 0; i < LlmPool.MANY_POOLS; i++) {
        pools.add(pool().build());
      }
      assertThat(LlmPool.livePools(origin)).isEqualTo(LlmPool.MANY_POOLS);
      assertThat(LlmPool.warnedAbout(origin)).isFalse();
      pools.add(pool().build());
      assertThat(LlmPool.warnedAbout(origin)).isTrue();
    } finally {
      pools.forEach(LlmPool::close);
    }
    assertThat(LlmPool.livePools(origin)).isZero();
  }

  @Test
  void aBlockingCallOnAnIoThreadIsRefusedInsteadOfHanging() throws Exception {
    try (LlmPool p = pool().build()) {
      // The outer answer comes late, so that thenApply runs on the I/O thread that completes it
      // (a future already complete would run it on this thread, where blocking is allowed).
      HttpRequest outer =
          HttpRequest.post("/chat/completions")
              .header("x-mock-fault", "none; latency=200ms")
              .json("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"outer\"}]}")
              .build();
      CompletableFuture<HttpResponse> nested =
          p.sendAsync(outer).thenApply(r -> p.send(chat("inner")));
      assertThat(nested)
          .failsWithin(Duration.ofSeconds(20))
          .withThrowableOfType(ExecutionException.class)
          .havingCause()
          .isInstanceOf(IllegalStateException.class)
          .withMessageContaining("I/O thread");
    }
  }

  @Test
  void aBodyOverTheLimitFailsWithoutLeakingTheConnection() {
    try (LlmPool p = pool().maxResponseBodySize(64).build()) {
      assertThatThrownBy(() -> p.send(chat("a long enough answer to pass sixty-four bytes")))
          .isInstanceOf(ResponseTooLargeException.class)
          .hasMessageContaining("maxResponseBodySize");
      assertThat(p.stats().active()).isZero();
    }
  }

  @Test
  void aRelativeTargetNeedsABaseUrl() {
    try (LlmPool p = LlmPool.builder().build()) {
      assertThatThrownBy(() -> p.send(HttpRequest.get("/models").build()))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("baseUrl");
      assertThat(
              p.send(
                      HttpRequest.get(server.baseUrl() + "/v1/models")
                          .header("authorization", "Bearer " + KEY)
                          .build())
                  .status())
          .isEqualTo(200);
    }
  }

  @Test
  void theTransportInUseIsVisible() {
    try (LlmPool p = pool().build()) {
      assertThat(p.ioTransport()).isIn("epoll", "nio");
      assertThat(p.tlsProvider()).isNotEmpty();
    }
  }
}
