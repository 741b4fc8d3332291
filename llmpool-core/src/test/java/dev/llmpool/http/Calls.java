package dev.llmpool.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llmpool.LlmPool;
import dev.llmpool.PoolStats;
import dev.llmpool.testkit.Fault;
import dev.llmpool.testkit.MockLlmServer;
import dev.llmpool.testkit.RecordedRequest;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/** Requests and checks shared by the HTTP tests. */
final class Calls {
  private static final AtomicLong IDS = new AtomicLong();

  private Calls() {}

  /** A fresh id for a request, so the server's log can prove it saw it at most once. */
  static String newId() {
    return "call-" + IDS.incrementAndGet();
  }

  /** A chat completion request whose prompt and {@code x-test-id} header are {@code id}. */
  static HttpRequest.Builder chat(String id) {
    return HttpRequest.post("/chat/completions")
        .header("x-test-id", id)
        .json("{\"model\":\"mock\",\"messages\":[{\"role\":\"user\",\"content\":\"" + id + "\"}]}");
  }

  /** A streamed (SSE) chat completion request. */
  static HttpRequest.Builder chatStream(String id) {
    return HttpRequest.post("/chat/completions")
        .header("x-test-id", id)
        .header("accept", "text/event-stream")
        .json(
            "{\"model\":\"mock\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\""
                + id
                + "\"}]}");
  }

  /** The same, with the mock server's fault header. */
  static HttpRequest.Builder chat(String id, Fault fault) {
    return chat(id).header("x-mock-fault", fault.headerValue());
  }

  /**
   * The leak check every test ends with: no connection still leased, no exchange in flight; and
   * at-most-once: no request was processed twice by the server (refused streams, which the server
   * provably did not process, do not count).
   */
  static void assertCleanAndAtMostOnce(LlmPool pool, MockLlmServer server) {
    PoolStats s = pool.stats();
    assertThat(s.inFlightExchanges()).as("exchanges still in flight: %s", s).isZero();
    assertThat(s.active()).as("connections still active: %s", s).isZero();
    Map<String, Integer> seen = new HashMap<>();
    for (RecordedRequest r : server.requests()) {
      String id = r.header("x-test-id");
      if (id == null || (r.reply() != null && r.reply().fault() == Fault.REFUSE_STREAM)) {
        continue;
      }
      seen.merge(id, 1, Integer::sum);
    }
    seen.forEach((id, n) -> assertThat(n).as("request %s processed %d times", id, n).isEqualTo(1));
  }
}
