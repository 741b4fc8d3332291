package dev.llmpool;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llmpool.llm.internal.LlmHttp;
import dev.llmpool.llm.internal.LlmHttpRequest;
import dev.llmpool.llm.internal.LlmHttpResponse;
import dev.llmpool.testkit.MockLlmServer;
import dev.llmpool.time.Ticker;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The LLM layer's HTTP seam over a real pool and the mock server (h2c). */
class PoolLlmHttpTest {
  private MockLlmServer server;
  private LlmPool pool;
  private LlmHttp http;

  @BeforeEach
  void setUp() {
    server = MockLlmServer.builder().build().start();
    pool =
        LlmPool.builder()
            .baseUrl(server.baseUrl() + "/v1")
            .h2cPriorKnowledge("127.0.0.1")
            .ioThreads(1)
            .build();
    http = pool.llmHttp();
  }

  @AfterEach
  void tearDown() {
    assertThat(pool.stats().active()).isZero();
    pool.close();
    server.close();
  }

  private LlmHttpRequest request(boolean stream) {
    String body =
        "{\"model\":\"m\",\"stream\":"
            + stream
            + ",\"messages\":[{\"role\":\"user\",\"content\":\"hello there\"}]}";
    return new LlmHttpRequest(
        URI.create(server.baseUrl() + "/v1/chat/completions"),
        List.of(
            Map.entry("authorization", "Bearer sk-test"),
            Map.entry("content-type", "application/json")),
        body.getBytes(StandardCharsets.UTF_8),
        stream,
        Ticker.system().nanoTime() + Duration.ofSeconds(30).toNanos(),
        1);
  }

  @Test
  void aWholeBodyIsReadWithinItsLimit() throws Exception {
    LlmHttpResponse r = http.send(request(false)).get(20, TimeUnit.SECONDS);
    try (r) {
      assertThat(r.status()).isEqualTo(200);
      assertThat(r.header("content-type")).startsWith("application/json");
      String body = new String(r.body(1 << 20).get(20, TimeUnit.SECONDS), StandardCharsets.UTF_8);
      assertThat(body).contains("hello there");
    }
  }

  @Test
  void aBodyOverTheLimitIsAProtocolError() throws Exception {
    LlmHttpResponse r = http.send(request(false)).get(20, TimeUnit.SECONDS);
    try (r) {
      CompletableFuture<byte[]> f = r.body(10);
      assertThat(f)
          .failsWithin(Duration.ofSeconds(20))
          .withThrowableOfType(ExecutionException.class)
          .havingCause()
          .isInstanceOf(HttpProtocolException.class);
    }
  }

  @Test
  void aStreamIsPulledChunkByChunkToItsEnd() throws Exception {
    LlmHttpResponse r = http.send(request(true)).get(20, TimeUnit.SECONDS);
    StringBuilder sse = new StringBuilder();
    try (r) {
      while (true) {
        ByteBuffer chunk = r.nextChunk().get(20, TimeUnit.SECONDS);
        if (chunk == null) {
          break;
        }
        sse.append(StandardCharsets.UTF_8.decode(chunk));
      }
    }
    assertThat(sse.toString()).contains("data: [DONE]");
  }

  @Test
  void closingAStreamEarlyReleasesItsStream() throws Exception {
    LlmHttpResponse r = http.send(request(true)).get(20, TimeUnit.SECONDS);
    assertThat(r.nextChunk().get(20, TimeUnit.SECONDS)).isNotNull();
    r.close();
    r.close();
    LlmHttpResponse again = http.send(request(false)).get(20, TimeUnit.SECONDS);
    try (again) {
      assertThat(again.body(1 << 20).get(20, TimeUnit.SECONDS)).isNotEmpty();
    }
  }

  @Test
  void aDeadlineAlreadyPastFailsAtOnceWithoutSending() {
    LlmHttpRequest late =
        new LlmHttpRequest(
            URI.create(server.baseUrl() + "/v1/chat/completions"),
            List.of(),
            new byte[] {'{', '}'},
            false,
            Ticker.system().nanoTime() - 1,
            1);
    assertThat(http.send(late))
        .failsWithin(Duration.ofSeconds(5))
        .withThrowableOfType(ExecutionException.class)
        .havingCause()
        .isInstanceOf(TotalTimeoutException.class);
    assertThat(server.requestCount()).isZero();
  }
}
