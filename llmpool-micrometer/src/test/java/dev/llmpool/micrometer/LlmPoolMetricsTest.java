package dev.llmpool.micrometer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.llmpool.ConnectFailedException;
import dev.llmpool.EventListener;
import dev.llmpool.Limits;
import dev.llmpool.LlmPool;
import dev.llmpool.PoolTimeoutException;
import dev.llmpool.Timeouts;
import dev.llmpool.http.HttpRequest;
import dev.llmpool.http.HttpResponse;
import dev.llmpool.http.StreamingResponse;
import dev.llmpool.testkit.Fault;
import dev.llmpool.testkit.MockLlmServer;
import dev.llmpool.testkit.Reply;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.search.RequiredSearch;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@link LlmPoolMetrics} against the testkit's mock server over real sockets, read back from a
 * {@link SimpleMeterRegistry}: the OpenTelemetry names and tags, llmpool's pool figures, failures
 * by error type, bounded cardinality, no secret in a tag, and the lifecycle.
 */
class LlmPoolMetricsTest {
  static final String KEY = "sk-secret-0123456789";

  SimpleMeterRegistry registry;
  MockLlmServer server;

  @BeforeEach
  void setUp() {
    registry = new SimpleMeterRegistry();
    server = MockLlmServer.builder().http1Only(true).build().start();
  }

  @AfterEach
  void tearDown() {
    server.close();
  }

  LlmPool.Builder pool(MockLlmServer s) {
    return LlmPool.builder()
        .baseUrl(s.baseUrl() + "/v1")
        .bearerToken(KEY)
        .http2(false)
        .ioThreads(1);
  }

  static HttpRequest chat(String prompt) {
    return HttpRequest.post("/chat/completions")
        .json("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"" + prompt + "\"}]}")
        .build();
  }

  static void until(BooleanSupplier condition) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (!condition.getAsBoolean()) {
      assertThat(System.nanoTime()).as("condition not met within 20 s").isLessThan(deadline);
      LockSupport.parkNanos(1_000_000L);
    }
  }

  RequiredSearch get(String name, MockLlmServer s) {
    return registry
        .get(name)
        .tag("server.address", "127.0.0.1")
        .tag("server.port", Integer.toString(s.port()));
  }

  Timer requests(String status, String errorType) {
    return get("http.client.request.duration", server)
        .tag("http.request.method", "POST")
        .tag("http.response.status_code", status)
        .tag("error.type", errorType)
        .timer();
  }

  @Test
  void callsConnectionsAndThePoolAreReportedUnderOpenTelemetryAndLlmpoolNames() {
    try (LlmPool pool = pool(server).metrics(new LlmPoolMetrics(registry)).build()) {
      pool.send(chat("one"));
      pool.send(chat("two"));
      server.enqueue(Reply.error(429));
      assertThat(pool.send(chat("three")).status()).isEqualTo(429);

      Timer ok = requests("200", "");
      assertThat(ok.count()).isEqualTo(2);
      assertThat(ok.getId().getTag("network.protocol.version")).isEqualTo("1.1");
      assertThat(ok.totalTime(TimeUnit.NANOSECONDS)).isPositive();
      assertThat(requests("429", "429").count()).as("an error status is its error.type").isOne();

      Gauge idle =
          get("http.client.open_connections", server)
              .tag("http.connection.state", "idle")
              .tag("network.protocol.version", "1.1")
              .gauge();
      Gauge active =
          get("http.client.open_connections", server)
              .tag("http.connection.state", "active")
              .gauge();
      assertThat(idle.value()).isEqualTo(1);
      assertThat(active.value()).isZero();
      assertThat(
              get("llmpool.pool.acquires", server)
                  .tag("llmpool.connection.reused", "false")
                  .counter()
                  .count())
          .isOne();
      assertThat(
              get("llmpool.pool.acquires", server)
                  .tag("llmpool.connection.reused", "true")
                  .counter()
                  .count())
          .isEqualTo(2);
      assertThat(get("llmpool.pool.reuse.ratio", server).gauge().value()).isEqualTo(2.0 / 3);
      assertThat(get("llmpool.pool.wait.duration", server).timer().count()).isEqualTo(3);
      assertThat(get("llmpool.connections.opened", server).functionCounter().count()).isOne();
      assertThat(get("llmpool.pool.pending", server).gauge().value()).isZero();
      assertThat(get("llmpool.pool.timeouts", server).functionCounter().count()).isZero();
      assertThat(get("llmpool.pool.rejected", server).functionCounter().count()).isZero();
      assertThat(
              get("http.client.active_requests", server)
                  .tag("http.request.method", "POST")
                  .gauge()
                  .value())
          .isZero();
      assertThat(registry.get("llmpool.pool.connections.max").gauge().value()).isEqualTo(100);
      assertThat(registry.get("llmpool.pool.utilization").gauge().value()).isZero();
      assertThat(registry.get("llmpool.pool.utilization.warnings").functionCounter().count())
          .isZero();
    }
  }

  @Test
  void activeRequestsAndActiveConnectionsCountACallInFlight() {
    try (LlmPool pool = pool(server).metrics(new LlmPoolMetrics(registry)).build();
        StreamingResponse held =
            pool.stream(
                HttpRequest.post("/chat/completions")
                    .header("x-mock-fault", Fault.STALL_AFTER_HEADERS.headerValue())
                    .json("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}")
                    .build())) {
      assertThat(held.status()).isEqualTo(200);
      Gauge activeRequests =
          get("http.client.active_requests", server).tag("http.request.method", "POST").gauge();
      assertThat(activeRequests.value()).isOne();
      until(
          () ->
              get("http.client.open_connections", server)
                      .tag("http.connection.state", "active")
                      .gauge()
                      .value()
                  == 1);
      assertThat(registry.get("llmpool.pool.utilization").gauge().value()).isEqualTo(0.01);
      held.close();
      until(() -> activeRequests.value() == 0);
      assertThat(requests("200", "cancelled").count()).as("closed before its end").isOne();
    }
  }

  @Test
  void anHttp2ConnectionIsReportedAsVersion2AndItsLifetimeWhenItCloses() {
    try (MockLlmServer h2 = MockLlmServer.builder().build().start();
        LlmPool pool =
            LlmPool.builder()
                .baseUrl(h2.baseUrl() + "/v1")
                .bearerToken(KEY)
                .h2cPriorKnowledge("127.0.0.1")
                .ioThreads(1)
                .metrics(new LlmPoolMetrics(registry))
                .build()) {
      pool.send(chat("a"));
      pool.send(chat("b").toBuilder().header("x-mock-fault", "close-after-response").build());
      until(
          () ->
              registry.find("http.client.connection.duration").timer() != null
                  && registry.find("http.client.connection.duration").timer().count() == 1);
      Timer lifetime = get("http.client.connection.duration", h2).timer();
      assertThat(lifetime.getId().getTag("network.protocol.version")).isEqualTo("2");
      assertThat(lifetime.totalTime(TimeUnit.NANOSECONDS)).isPositive();
      assertThat(
              get("http.client.request.duration", h2)
                  .tag("network.protocol.version", "2")
                  .tag("http.response.status_code", "200")
                  .timer()
                  .count())
          .isEqualTo(2);
      until(
          () ->
              get("llmpool.connections.closed", h2)
                      .tag("llmpool.close.reason", "server-closed")
                      .functionCounter()
                      .count()
                  == 1);
      assertThat(
              get("llmpool.connections.closed", h2)
                  .tag("llmpool.close.reason", "idle-expired")
                  .functionCounter()
                  .count())
          .isZero();
    }
  }

  @Test
  void failuresAreTaggedWithAFixedErrorTypeAndCounted() throws Exception {
    int closedPort;
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      closedPort = s.getLocalPort();
    }
    try (LlmPool pool =
        LlmPool.builder()
            .baseUrl("http://127.0.0.1:" + closedPort + "/v1")
            .http2(false)
            .ioThreads(1)
            .metrics(new LlmPoolMetrics(registry))
            .build()) {
      assertThatThrownBy(() -> pool.send(chat("x"))).isInstanceOf(ConnectFailedException.class);
      Timer failed =
          registry
              .get("http.client.request.duration")
              .tag("server.port", Integer.toString(closedPort))
              .tag("error.type", "connect_failed")
              .timer();
      assertThat(failed.count()).isOne();
      assertThat(failed.getId().getTag("http.response.status_code")).isEmpty();
      assertThat(failed.getId().getTag("network.protocol.version")).isEmpty();
      assertThat(
              registry
                  .get("llmpool.connections.failed")
                  .tag("server.port", Integer.toString(closedPort))
                  .functionCounter()
                  .count())
          .isOne();
    }

    SimpleMeterRegistry r2 = new SimpleMeterRegistry();
    try (LlmPool pool =
        pool(server)
            .limits(Limits.builder().maxConnections(1).build())
            .timeouts(Timeouts.builder().pool(Duration.ofMillis(100)).build())
            .metrics(new LlmPoolMetrics(r2))
            .build()) {
      // Warm first, so that the holding call does not itself wait (a connect may take longer
      // than 100 ms on a loaded machine).
      pool.prewarm(1).get(20, TimeUnit.SECONDS);
      StreamingResponse held =
          pool.stream(
              chat("hold").toBuilder()
                  .header("x-mock-fault", Fault.STALL_AFTER_HEADERS.headerValue())
                  .build());
      assertThatThrownBy(() -> pool.send(chat("waits"))).isInstanceOf(PoolTimeoutException.class);
      assertThat(
              r2.get("http.client.request.duration")
                  .tag("error.type", "pool_timeout")
                  .timer()
                  .count())
          .isOne();
      assertThat(r2.get("llmpool.pool.timeouts").functionCounter().count()).isOne();
      assertThat(held.status()).isEqualTo(200);
      held.close();
    }
  }

  @Test
  void noTagCarriesAPathAQueryAKeyOrAPrompt() {
    try (LlmPool pool = pool(server).metrics(new LlmPoolMetrics(registry)).build()) {
      pool.send(
          HttpRequest.post("/chat/completions?api_key=" + KEY + "&user=u-42")
              .header("x-request-tag", "req-7f3a")
              .json(
                  "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"prompt-9d2\"}]}")
              .build());
      pool.send(HttpRequest.get("/models/gpt-4o-secret-id").build());
      List<String> values = new ArrayList<>();
      for (Meter m : registry.getMeters()) {
        for (Tag t : m.getId().getTags()) {
          values.add(t.getKey() + "=" + t.getValue());
        }
      }
      assertThat(values).isNotEmpty();
      assertThat(values)
          .noneMatch(v -> v.contains(KEY))
          .noneMatch(v -> v.contains("sk-"))
          .noneMatch(v -> v.contains("/"))
          .noneMatch(v -> v.contains("?"))
          .noneMatch(v -> v.contains("u-42"))
          .noneMatch(v -> v.contains("req-7f3a"))
          .noneMatch(v -> v.contains("prompt-9d2"))
          .noneMatch(v -> v.contains("secret-id"));
      assertThat(values).contains("http.request.method=GET", "http.request.method=POST");
    }
  }

  @Test
  void originsBeyondTheCapAreCountedUnderOther() {
    try (MockLlmServer other = MockLlmServer.builder().http1Only(true).build().start();
        LlmPool pool =
            pool(server).metrics(LlmPoolMetrics.builder().maxOrigins(1).bindTo(registry)).build()) {
      pool.send(chat("first"));
      pool.send(
          HttpRequest.post(other.baseUrl() + "/v1/chat/completions")
              .json("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}")
              .build());
      assertThat(requests("200", "").count()).isOne();
      Timer overflow =
          registry
              .get("http.client.request.duration")
              .tag("server.address", "_OTHER")
              .tag("server.port", "_OTHER")
              .timer();
      assertThat(overflow.count()).isOne();
      assertThat(registry.find("llmpool.pool.pending").gauges())
          .as("no per-origin gauges for the overflow")
          .hasSize(1);
      for (Meter m : registry.getMeters()) {
        assertThat(m.getId().getTag("server.port"))
            .isIn(null, Integer.toString(server.port()), "_OTHER");
      }
    }
  }

  @Test
  void aUsersListenerAndTheMetricsBothHearEveryCall() {
    AtomicInteger ends = new AtomicInteger();
    EventListener mine =
        new EventListener() {
          @Override
          public void callEnd(CallInfo call) {
            ends.incrementAndGet();
          }
        };
    try (LlmPool pool =
        pool(server).eventListener(mine).metrics(new LlmPoolMetrics(registry)).build()) {
      pool.send(chat("a"));
      CompletableFuture<HttpResponse> f = pool.sendAsync(chat("b"));
      assertThat(f.join().status()).isEqualTo(200);
    }
    assertThat(ends).hasValue(2);
  }

  @Test
  void bindingAfterThePoolStartedRegistersWhatWasAlreadySeen() {
    LlmPoolMetrics metrics = new LlmPoolMetrics();
    try (LlmPool pool = pool(server).metrics(metrics).build()) {
      pool.send(chat("before"));
      metrics.bindTo(registry);
      metrics.bindTo(registry); // again: nothing happens
      assertThat(get("llmpool.connections.opened", server).functionCounter().count()).isOne();
      assertThat(
              get("http.client.open_connections", server)
                  .tag("http.connection.state", "idle")
                  .gauge()
                  .value())
          .isOne();
      pool.send(chat("after"));
      assertThat(requests("200", "").count()).as("calls before binding are not timed").isOne();
      assertThatThrownBy(() -> metrics.bindTo(new SimpleMeterRegistry()))
          .isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("CompositeMeterRegistry");
    }
  }

  @Test
  void oneMetricsObjectReportsOnePoolAndClosingThePoolRemovesItsMeters() {
    LlmPoolMetrics metrics = LlmPoolMetrics.builder().tags("pool", "openai").bindTo(registry);
    LlmPool pool = pool(server).metrics(metrics).build();
    pool.send(chat("x"));
    assertThat(registry.get("http.client.request.duration").timer().getId().getTag("pool"))
        .isEqualTo("openai");
    assertThatThrownBy(() -> pool(server).metrics(metrics).build())
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("make one LlmPoolMetrics per pool");
    assertThat(pool.send(chat("still works")).status()).isEqualTo(200);
    pool.close();
    assertThat(registry.getMeters()).isEmpty();
  }

  @Test
  void theBuilderRefusesABadOriginCap() {
    assertThatThrownBy(() -> LlmPoolMetrics.builder().maxOrigins(0))
        .hasMessage("maxOrigins must be at least 1, got 0");
  }

  @Test
  void countersAreMonotonicFunctionCountersAndGaugesReadOneSnapshotPerScrape() {
    try (LlmPool pool = pool(server).metrics(new LlmPoolMetrics(registry)).build()) {
      pool.send(chat("x"));
      FunctionCounter opened = get("llmpool.connections.opened", server).functionCounter();
      Counter reused =
          get("llmpool.pool.acquires", server).tag("llmpool.connection.reused", "true").counter();
      double before = opened.count();
      pool.send(chat("y"));
      assertThat(opened.count()).isGreaterThanOrEqualTo(before);
      assertThat(reused.count()).isOne();
    }
  }
}
