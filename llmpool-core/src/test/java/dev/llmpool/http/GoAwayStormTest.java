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
      // Cold: the pool does not know yet that the server takes 7 streams per connection, so the
      // first connections see streams refused above a GOAWAY (re-sent, since provably
      // unprocessed) while the server still finishes the streams at or below it.
      Storm storm = storm(pool);
      int calls = CALLERS * CALLS_PER_CALLER;
      // No call lost, and so none reported failed that the server processed.
      assertThat(storm.failures).as("failed calls").isEmpty();
      assertThat(storm.succeeded).hasSize(calls);
      // None processed twice: the server's log holds each call exactly once (refused streams are
      // not recorded: the server did not process them).
      assertEachProcessedOnce(server, calls);
      // Within the limit, and multiplexed.
      PoolStats stats = pool.stats();
      assertThat(stats.peakOpen()).isLessThanOrEqualTo(8);
      MockServerStats ss = server.stats();
      assertThat(ss.connections().stream().mapToInt(c -> c.peakConcurrentStreams()).max().orElse(0))
          .as("streams at once on one connection")
          .isGreaterThan(1);
      // Once the budget is learnt (two GOAWAYs naming 7), connections are retired before it:
      // re-sends stay a handful, not one per connection.
      assertThat((long) retries.get()).as("re-sends").isLessThan(ss.connectionsAccepted());
      assertCleanAndAtMostOnce(pool, server);
      System.out.printf(
          "%s: %d calls, %d connections, %d re-sends, peak open %d%n",
          p, calls, ss.connectionsAccepted(), retries.get(), stats.peakOpen());
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
