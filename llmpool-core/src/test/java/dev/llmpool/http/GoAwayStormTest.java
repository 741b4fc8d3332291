package dev.llmpool.http;

import static dev.llmpool.http.Calls.assertCleanAndAtMostOnce;
import static dev.llmpool.http.Calls.chat;
import static dev.llmpool.http.Calls.newId;
import static org.assertj.core.api.Assertions.assertThat;

import dev.llmpool.EventListener;
import dev.llmpool.Limits;
import dev.llmpool.LlmPool;
import dev.llmpool.LlmPoolException;
import dev.llmpool.PoolStats;
import dev.llmpool.testkit.MockLlmServer;
import dev.llmpool.testkit.MockServerStats;
import dev.llmpool.testkit.RecordedRequest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The scenario of issue 5: a server that sends GOAWAY every 7 requests and allows 4 streams per
 * connection, 32 callers, a limit of 8 connections. Peers lose calls, report processed calls as
 * failed, re-send thousands of streams or break their limit. llmpool must be all four at once: no
 * call lost, no processed call reported failed or re-sent, within its limit, and multiplexed.
 */
class GoAwayStormTest {
  private static final int CALLERS = 32;
  private static final int CALLS_PER_CALLER = 40;

  @ParameterizedTest
  @EnumSource(
      value = Proto.class,
      names = {"H2", "H2C"})
  void everyCallSucceedsOnceWithinTheLimitAndMultiplexed(Proto p) throws Exception {
    AtomicInteger retries = new AtomicInteger();
    try (MockLlmServer server =
            p.server().maxRequestsPerConnection(7).maxConcurrentStreams(4).build().start();
        LlmPool pool =
            p.pool(server)
                .limits(Limits.builder().maxConnections(8).maxConnectionsPerHost(8).build())
                .eventListener(countRetries(retries))
                .build()) {
      // A few calls one at a time first: two GOAWAYs teach the pool that the server takes 7
      // streams per connection (see StreamBudget). The storm below then never crosses a GOAWAY.
      for (int i = 0; i < 15; i++) {
        assertThat(pool.send(chat(newId()).build()).status()).isEqualTo(200);
      }
      int before = retries.get();
      Storm storm = storm(pool);
      int calls = CALLERS * CALLS_PER_CALLER;
      // No call lost.
      assertThat(storm.failures).as("failed calls").isEmpty();
      assertThat(storm.succeeded).hasSize(calls);
      // No processed call re-sent: the server processed each call exactly once.
      assertEachProcessedOnce(server, calls + 15);
      // Within the limit, and multiplexed.
      PoolStats stats = pool.stats();
      assertThat(stats.peakOpen()).isLessThanOrEqualTo(8);
      MockServerStats ss = server.stats();
      assertThat(ss.connections().stream().mapToInt(c -> c.peakConcurrentStreams()).max().orElse(0))
          .as("streams at once on one connection")
          .isGreaterThan(1);
      // Knowing the budget, llmpool retires connections itself: nothing is refused or re-sent.
      assertThat(retries.get() - before).as("re-sends during the storm").isZero();
      assertCleanAndAtMostOnce(pool, server);
      System.out.printf(
          "%s: %d calls, %d connections, %d re-sends, peak open %d%n",
          p, calls, ss.connectionsAccepted(), retries.get() - before, stats.peakOpen());
    }
  }

  @ParameterizedTest
  @EnumSource(
      value = Proto.class,
      names = {"H2", "H2C"})
  void evenBeforeTheBudgetIsKnownNothingIsSentTwiceAndNothingUnprocessedIsLost(Proto p)
      throws Exception {
    AtomicInteger retries = new AtomicInteger();
    try (MockLlmServer server =
            p.server().maxRequestsPerConnection(7).maxConcurrentStreams(4).build().start();
        LlmPool pool =
            p.pool(server)
                .limits(Limits.builder().maxConnections(8).maxConnectionsPerHost(8).build())
                .eventListener(countRetries(retries))
                .build()) {
      Storm storm = storm(pool);
      // Streams above a GOAWAY are re-sent and succeed. Netty-based servers (the mock is one) may
      // also kill a connection when a refused stream's DATA arrives after their GOAWAY, losing a
      // response they had processed: such a call fails and says so; it is never re-sent.
      for (Throwable t : storm.failures) {
        assertThat(t).isInstanceOf(LlmPoolException.class);
        assertThat(((LlmPoolException) t).requestMayHaveBeenProcessed()).isTrue();
      }
      assertThat(storm.failures.size()).as("calls lost to the server's GOAWAY race").isLessThan(8);
      assertCleanAndAtMostOnce(pool, server);
      assertThat(storm.succeeded.size() + storm.failures.size())
          .isEqualTo(CALLERS * CALLS_PER_CALLER);
    }
  }

  private static EventListener countRetries(AtomicInteger retries) {
    return new EventListener() {
      @Override
      public void retry(CallInfo call, String reason, Duration delay, int attempt) {
        retries.incrementAndGet();
      }
    };
  }

  /** What a storm of calls did. */
  private record Storm(Set<String> succeeded, List<Throwable> failures) {}

  /** 32 callers, 40 calls each, each call held 20 ms by the server so that streams overlap. */
  private static Storm storm(LlmPool pool) throws Exception {
    ExecutorService callers = Executors.newFixedThreadPool(CALLERS);
    Set<String> succeeded = ConcurrentHashMap.newKeySet();
    List<Throwable> failures = new CopyOnWriteArrayList<>();
    try {
      List<Future<?>> fs = new ArrayList<>();
      for (int c = 0; c < CALLERS; c++) {
        fs.add(
            callers.submit(
                () -> {
                  for (int i = 0; i < CALLS_PER_CALLER; i++) {
                    String id = newId();
                    try {
                      HttpResponse r =
                          pool.send(chat(id).header("x-mock-fault", "none;latency=20ms").build());
                      assertThat(r.status()).isEqualTo(200);
                      succeeded.add(id);
                    } catch (LlmPoolException e) {
                      failures.add(e);
                    }
                  }
                }));
      }
      for (Future<?> f : fs) {
        f.get(120, TimeUnit.SECONDS);
      }
    } finally {
      callers.shutdownNow();
    }
    return new Storm(succeeded, failures);
  }

  private static void assertEachProcessedOnce(MockLlmServer server, int calls) {
    Set<String> processed = new HashSet<>();
    for (RecordedRequest r : server.requests()) {
      assertThat(processed.add(r.header("x-test-id")))
          .as("processed twice: %s", r.header("x-test-id"))
          .isTrue();
    }
    assertThat(processed).hasSize(calls);
  }
}
