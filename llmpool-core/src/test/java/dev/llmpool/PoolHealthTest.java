package dev.llmpool;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.llmpool.http.HttpRequest;
import dev.llmpool.http.HttpResponse;
import dev.llmpool.http.StreamingResponse;
import dev.llmpool.testkit.MockLlmServer;
import dev.llmpool.time.ManualScheduler;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;

/**
 * The pool's health over real sockets: a pool held at its limit logs one utilization warning and
 * one summary of its pool timeouts (captured from slf4j-simple's output), and its stats report the
 * peak, the warnings, the protocol, the transport and the TLS provider. Time is a manual scheduler:
 * the pool's deadlines and the health samples run only when the test advances it.
 */
class PoolHealthTest {

  static HttpRequest chat(String prompt) {
    return HttpRequest.post("/chat/completions")
        .json("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"" + prompt + "\"}]}")
        .build();
  }

  /** A request the mock server answers with headers and then nothing: it holds its connection. */
  static HttpRequest stall() {
    return HttpRequest.post("/chat/completions")
        .header("x-mock-fault", "stall-after-headers")
        .json("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hold\"}]}")
        .build();
  }

  static void until(BooleanSupplier condition) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (!condition.getAsBoolean()) {
      assertThat(System.nanoTime()).as("condition not met within 20 s").isLessThan(deadline);
      LockSupport.parkNanos(1_000_000L);
    }
  }

  @Test
  void aPoolHeldAtItsLimitWarnsOnceSummarisesItsTimeoutsAndReportsItInItsStats() throws Exception {
    ManualScheduler time = new ManualScheduler();
    try (MockLlmServer server = MockLlmServer.builder().http1Only(true).build().start();
        StderrCapture err = new StderrCapture();
        LlmPool pool =
            LlmPool.builder()
                .baseUrl(server.baseUrl() + "/v1")
                .bearerToken("sk-test-secret")
                .http2(false)
                .limits(Limits.builder().maxConnections(2).build())
                .timeouts(Timeouts.builder().pool(Duration.ofSeconds(5)).build())
                .scheduler(time)
                .closeGracePeriod(Duration.ZERO)
                .ioThreads(1)
                .build()) {
      StreamingResponse a = pool.stream(stall());
      StreamingResponse b = pool.stream(stall());
      CompletableFuture<HttpResponse> waiting = pool.sendAsync(chat("third"));
      until(() -> pool.stats().pending() == 1);

      // The third call times out at 5 s (and is summarised at once); the pool has been full since
      // the first sample at 1 s, so the warning comes at 11 s.
      time.advance(Duration.ofSeconds(11));
      assertThatThrownBy(() -> waiting.get(20, TimeUnit.SECONDS))
          .isInstanceOf(ExecutionException.class)
          .hasCauseInstanceOf(PoolTimeoutException.class);

      // slf4j-simple's line: "[thread] WARN dev.llmpool.LlmPool - ..." (or "[WARN]", configured).
      List<String> warnings = err.lines("dev.llmpool.LlmPool - llmpool:");
      assertThat(warnings).hasSize(2).allMatch(l -> l.contains("WARN"));
      assertThat(warnings.get(0))
          .contains(
              "in the last 5 s, 1 call to "
                  + server.baseUrl()
                  + " timed out waiting for a connection (PoolTimeoutException after"
                  + " timeouts.pool=5 s)");
      assertThat(warnings.get(1))
          .contains(
              "the pool's connections (to "
                  + server.baseUrl()
                  + ") have been at least 80% utilized for 10 s (now 100%: 2/2 connections"
                  + " active, 0 calls waiting, 2 in flight, HTTP/1.1; bound by"
                  + " limits.maxConnections=2)")
          .contains("use h2cPriorKnowledge(\"127.0.0.1:" + server.port() + "\")");
      assertThat(String.join("\n", err.lines("sk-test-secret"))).isEmpty();

      PoolStats s = pool.stats();
      assertThat(s.utilizationWarnings()).isEqualTo(1);
      assertThat(s.utilizationWarningFired()).isTrue();
      assertThat(s.peakUtilization()).isEqualTo(1.0);
      assertThat(s.peakActive()).isEqualTo(2);
      assertThat(s.peakOpen()).isEqualTo(2);
      assertThat(s.peakPending()).isEqualTo(1);
      assertThat(s.acquireTimeouts()).isEqualTo(1);
      assertThat(s.ioTransport()).isEqualTo(pool.ioTransport());
      assertThat(s.tlsProvider()).isEqualTo(pool.tlsProvider());
      assertThat(s.byOrigin().values())
          .singleElement()
          .extracting(PoolStats::protocol)
          .isEqualTo("HTTP/1.1");
      assertThat(s.toString())
          .contains("utilizationWarnings=1")
          .contains("origins=[" + server.baseUrl() + " HTTP/1.1], io=" + pool.ioTransport());

      // Sixty more seconds at the limit: still one warning.
      time.advance(Duration.ofSeconds(60));
      assertThat(err.lines("dev.llmpool.LlmPool - llmpool:")).hasSize(2);

      // Released, then full again: re-armed below 60 %, so a second warning after 10 s.
      a.close();
      b.close();
      until(() -> pool.stats().active() == 0);
      time.advance(Duration.ofSeconds(1));
      StreamingResponse c = pool.stream(stall());
      StreamingResponse d = pool.stream(stall());
      time.advance(Duration.ofSeconds(11));
      assertThat(err.lines("have been at least 80% utilized")).hasSize(2);
      assertThat(pool.stats().utilizationWarnings()).isEqualTo(2);
      c.close();
      d.close();
    }
  }

  @Test
  void warningsCanBeTurnedOffAndThenNothingIsSampled() {
    ManualScheduler time = new ManualScheduler();
    try (MockLlmServer server = MockLlmServer.builder().http1Only(true).build().start();
        LlmPool pool =
            LlmPool.builder()
                .baseUrl(server.baseUrl() + "/v1")
                .bearerToken("sk-test")
                .http2(false)
                .warnings(PoolWarnings.OFF)
                .scheduler(time)
                .closeGracePeriod(Duration.ZERO)
                .ioThreads(1)
                .build()) {
      assertThat(time.pendingTasks()).isZero();
      assertThat(pool.send(chat("hi")).status()).isEqualTo(200);
      PoolStats s = pool.stats();
      assertThat(s.utilizationWarnings()).isZero();
      assertThat(s.utilizationWarningFired()).isFalse();
      assertThat(s.peakUtilization()).as("from the peak of active connections").isEqualTo(0.01);
    }
  }

  @Test
  void badWarningSettingsAreRefusedNamingTheField() {
    assertThatThrownBy(() -> PoolWarnings.builder().utilizationThreshold(1.5).build())
        .hasMessage("warnings.utilizationThreshold must be in (0, 1], got 1.5");
    assertThatThrownBy(() -> PoolWarnings.builder().rearmBelow(0.9).build())
        .hasMessage("warnings.rearmBelow must be in [0, utilizationThreshold=0.8), got 0.9");
    assertThatThrownBy(() -> PoolWarnings.builder().sustainedFor(Duration.ofSeconds(-1)).build())
        .hasMessageStartingWith("warnings.sustainedFor must not be negative");
    assertThatThrownBy(() -> PoolWarnings.builder().failureSummaryInterval(Duration.ZERO).build())
        .hasMessage("warnings.failureSummaryInterval must be positive, got PT0S");
    PoolWarnings w = PoolWarnings.builder().utilizationThreshold(0.9).build();
    assertThat(w.toBuilder().build()).isEqualTo(w);
  }
}
