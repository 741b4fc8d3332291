package dev.llmpool.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.llmpool.testkit.MockLlmServer;
import dev.llmpool.testkit.Protocol;
import dev.llmpool.testkit.Reply;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BenchCommandTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  private static String[] bench(MockLlmServer server, Path json, String... more) {
    List<String> a =
        new ArrayList<>(
            List.of(
                "bench",
                "--url",
                server.url("/v1/chat/completions").toString(),
                "--header",
                "Authorization: Bearer test",
                "--json",
                json.toString(),
                "--no-progress"));
    a.addAll(List.of(more));
    return a.toArray(new String[0]);
  }

  private static JsonNode read(Path p) throws Exception {
    return JSON.readTree(Files.readString(p));
  }

  /** Every request is accounted for: succeeded plus failed is what was sent. */
  private static void assertAccountedFor(JsonNode root) {
    long requests = root.get("requests").asLong();
    long total = root.get("errors").get("total").asLong();
    assertThat(root.get("succeeded").asLong() + total).isEqualTo(requests);
    long byKind = 0;
    for (Map.Entry<String, JsonNode> e : root.get("errors").get("by_kind").properties()) {
      byKind += e.getValue().asLong();
    }
    assertThat(byKind).isEqualTo(total);
  }

  @Test
  void closedLoopJsonHasTheContractShapeAndEveryRequestIsAccountedFor(@TempDir Path dir)
      throws Exception {
    try (MockLlmServer server = MockLlmServer.builder().start()) {
      Path json = dir.resolve("bench.json");
      CliRun r =
          CliRun.run(
              bench(
                  server, json, "--requests", "200", "--concurrency", "4", "--warn-after", "0ms"));
      assertThat(r.exitCode()).as(r.err()).isZero();
      JsonNode root = read(json);
      assertThat(root.get("requests").asLong()).isEqualTo(200);
      assertThat(root.get("errors").get("total").asLong()).isZero();
      assertThat(root.get("errors").get("by_kind").isObject()).isTrue();
      assertAccountedFor(root);
      assertThat(root.get("throughput_rps").asDouble()).isPositive();
      for (String k : List.of("p50", "p90", "p99", "p999", "max")) {
        assertThat(root.get("latency_ms").get(k).isNumber()).as(k).isTrue();
      }
      assertThat(root.get("latency_ms").get("p50").asDouble())
          .isLessThanOrEqualTo(root.get("latency_ms").get("p999").asDouble());
      assertThat(root.get("connections_opened").asLong())
          .as("HTTP/1.1 at concurrency 4 needs at most 4 connections")
          .isBetween(1L, 4L);
      assertThat(server.stats().connectionsAccepted())
          .isEqualTo(root.get("connections_opened").asLong());
      assertThat(server.stats().requestsServed()).isEqualTo(200);
      assertThat(root.get("reuse_ratio").asDouble()).isBetween(0.95, 1.0);
      JsonNode pool = root.get("pool");
      for (String k :
          List.of(
              "peak_open_connections",
              "peak_active",
              "peak_pending",
              "peak_utilization",
              "warning_fired")) {
        assertThat(pool.has(k)).as(k).isTrue();
      }
      assertThat(pool.get("peak_open_connections").asInt()).isBetween(1, 4);
      assertThat(pool.get("peak_active").asInt()).isBetween(1, 4);
      assertThat(pool.get("limit").asInt()).isEqualTo(100);
      // At most 4 of 100 connections busy: far below the 80 % that warns, even at once.
      assertThat(pool.get("peak_utilization").asDouble())
          .isGreaterThanOrEqualTo(pool.get("peak_active").asDouble() / 100)
          .isLessThanOrEqualTo(0.04);
      assertThat(pool.get("warning_fired").isBoolean()).isTrue();
      assertThat(pool.get("warning_fired").asBoolean()).isFalse();
      assertThat(pool.get("stats").asText()).startsWith("PoolStats{").contains("opened=");
      assertThat(root.get("cpu_ms_per_request").asDouble()).isPositive();
      assertThat(root.get("protocol").asText()).isEqualTo("HTTP/1.1");
      assertThat(r.out())
          .contains("requests    200 (200 succeeded, 0 failed)")
          .contains("throughput")
          .contains("latency     p50")
          .contains("utilization warning not fired")
          .contains("pool stats  PoolStats{");
    }
  }

  @Test
  void aSaturatedPoolReportsFullUtilizationAndTheWarningItFired(@TempDir Path dir)
      throws Exception {
    // 8 workers share 2 HTTP/1.1 connections: calls always wait at the limit (utilization 1.0).
    try (MockLlmServer server =
        MockLlmServer.builder()
            .defaultReply(Reply.builder().headersDelay(Duration.ofMillis(10)).build())
            .start()) {
      Path json = dir.resolve("bench.json");
      CliRun r =
          CliRun.run(
              bench(
                  server,
                  json,
                  "--requests",
                  "200",
                  "--concurrency",
                  "8",
                  "--max-connections",
                  "2",
                  "--warn-after",
                  "300ms"));
      assertThat(r.exitCode()).as(r.err()).isZero();
      JsonNode root = read(json);
      assertAccountedFor(root);
      assertThat(root.get("errors").get("total").asLong()).isZero();
      JsonNode pool = root.get("pool");
      assertThat(pool.get("limit").asInt()).isEqualTo(2);
      assertThat(pool.get("peak_active").asInt()).isEqualTo(2);
      // Calls wait; never more than the workers minus the one holding a connection.
      assertThat(pool.get("peak_pending").asInt()).isBetween(1, 7);
      assertThat(pool.get("peak_utilization").asDouble()).isEqualTo(1.0);
      assertThat(pool.get("warning_fired").asBoolean()).isTrue();
      assertThat(pool.get("utilization_warnings").asLong()).isGreaterThanOrEqualTo(1);
      assertThat(r.out()).contains("peak utilization 100% of 2; utilization warning fired");
    }
  }

  @Test
  void theConnectionLimitHoldsAndWaitingCallsAreServed(@TempDir Path dir) throws Exception {
    try (MockLlmServer server =
        MockLlmServer.builder()
            .defaultReply(Reply.builder().headersDelay(Duration.ofMillis(5)).build())
            .start()) {
      Path json = dir.resolve("bench.json");
      CliRun r =
          CliRun.run(
              bench(
                  server,
                  json,
                  "--requests",
                  "100",
                  "--concurrency",
                  "8",
                  "--max-connections",
                  "2"));
      assertThat(r.exitCode()).as(r.err()).isZero();
      JsonNode root = read(json);
      assertAccountedFor(root);
      assertThat(root.get("errors").get("total").asLong()).isZero();
      assertThat(root.get("connections_opened").asLong()).isBetween(1L, 2L);
      assertThat(root.get("pool").get("peak_open_connections").asInt()).isBetween(1, 2);
      assertThat(server.stats().connectionsAccepted()).isBetween(1L, 2L);
    }
  }

  @Test
  void utilizationIsAgainstThePerHostLimitWhenThatBinds(@TempDir Path dir) throws Exception {
    try (MockLlmServer server =
        MockLlmServer.builder()
            .defaultReply(Reply.builder().headersDelay(Duration.ofMillis(5)).build())
            .start()) {
      Path json = dir.resolve("bench.json");
      CliRun r =
          CliRun.run(
              bench(
                  server,
                  json,
                  "--requests",
                  "60",
                  "--concurrency",
                  "4",
                  "--max-connections",
                  "10",
                  "--max-per-host",
                  "2"));
      assertThat(r.exitCode()).as(r.err()).isZero();
      JsonNode root = read(json);
      assertAccountedFor(root);
      JsonNode pool = root.get("pool");
      // 2 of the 10 connections overall, but every connection this host may have.
      assertThat(pool.get("limit").asInt()).isEqualTo(2);
      assertThat(pool.get("peak_open_connections").asInt()).isBetween(1, 2);
      assertThat(pool.get("peak_utilization").asDouble()).isEqualTo(1.0);
      assertThat(r.out()).contains("peak utilization 100% of 2");
    }
  }

  @Test
  void failuresAreCountedByKind(@TempDir Path dir) throws Exception {
    try (MockLlmServer server =
        MockLlmServer.builder().failureRate(0.3, 42, Reply.error(503)).start()) {
      Path json = dir.resolve("bench.json");
      CliRun r = CliRun.run(bench(server, json, "--requests", "100", "--concurrency", "3"));
      assertThat(r.exitCode()).as(r.err()).isZero();
      JsonNode root = read(json);
      assertAccountedFor(root);
      assertThat(root.get("requests").asLong()).isEqualTo(100);
      long failed = root.get("errors").get("total").asLong();
      assertThat(failed).isBetween(1L, 99L);
      assertThat(root.get("errors").get("by_kind").get("http:503").asLong()).isEqualTo(failed);
      assertThat(r.out()).contains("errors      {http:503=" + failed + "}");
    }
  }

  @Test
  void openLoopSendsOnScheduleAndAccountsForEveryRequest(@TempDir Path dir) throws Exception {
    try (MockLlmServer server = MockLlmServer.builder().start()) {
      Path json = dir.resolve("bench.json");
      CliRun r = CliRun.run(bench(server, json, "--rate", "200", "--requests", "60"));
      assertThat(r.exitCode()).as(r.err()).isZero();
      JsonNode root = read(json);
      assertThat(root.get("mode").asText()).isEqualTo("open-loop");
      assertThat(root.get("requests").asLong()).isEqualTo(60);
      assertThat(root.get("not_sent").asLong()).isZero();
      assertAccountedFor(root);
      assertThat(root.get("service_ms").get("p50").isNumber()).isTrue();
      // Latency counts from the scheduled start, so it is never below the service time.
      assertThat(root.get("latency_ms").get("max").asDouble())
          .isGreaterThanOrEqualTo(root.get("service_ms").get("max").asDouble());
      assertThat(server.stats().requestsServed()).isEqualTo(60);
    }
  }

  @Test
  void http2MultiplexesOnOneConnectionAndStreamsReportTheFirstByte(@TempDir Path dir)
      throws Exception {
    try (MockLlmServer server = MockLlmServer.builder().start()) {
      Path json = dir.resolve("bench.json");
      CliRun r =
          CliRun.run(
              bench(server, json, "--http2", "--stream", "--requests", "50", "--concurrency", "5"));
      assertThat(r.exitCode()).as(r.err()).isZero();
      JsonNode root = read(json);
      assertAccountedFor(root);
      assertThat(root.get("errors").get("total").asLong()).isZero();
      assertThat(root.get("protocol").asText()).isEqualTo("HTTP/2");
      assertThat(root.get("connections_opened").asLong()).isEqualTo(1);
      assertThat(root.get("ttfb_ms").get("p50").isNumber()).isTrue();
      assertThat(server.requests())
          .allSatisfy(q -> assertThat(q.protocol()).isEqualTo(Protocol.H2C))
          .allSatisfy(q -> assertThat(q.bodyUtf8()).contains("\"stream\":true"));
    }
  }

  @Test
  void tlsWithACaCertAndABodyFromAFile(@TempDir Path dir) throws Exception {
    try (MockLlmServer server = MockLlmServer.builder().tls(true).start()) {
      Path body = dir.resolve("body.json");
      Files.writeString(
          body,
          "{\"model\":\"from-file\",\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]}");
      Path json = dir.resolve("bench.json");
      CliRun r =
          CliRun.run(
              bench(
                  server,
                  json,
                  "--requests",
                  "20",
                  "--concurrency",
                  "2",
                  "--cacert",
                  server.certificate().pemFile().toString(),
                  "--body",
                  body.toString()));
      assertThat(r.exitCode()).as(r.err()).isZero();
      JsonNode root = read(json);
      assertThat(root.get("succeeded").asLong()).isEqualTo(20);
      assertThat(root.get("protocol").asText()).isEqualTo("HTTP/2");
      assertThat(server.requests())
          .allSatisfy(q -> assertThat(q.model()).isEqualTo("from-file"))
          .allSatisfy(q -> assertThat(q.tls()).isTrue());
    }
  }

  @Test
  void stopShowsTheFiguresSoFarWithEveryRequestAccountedFor(@TempDir Path dir) throws Exception {
    try (MockLlmServer server =
        MockLlmServer.builder()
            .defaultReply(Reply.builder().headersDelay(Duration.ofMillis(2)).build())
            .start()) {
      Path json = dir.resolve("bench.json");
      CliRun r = CliRun.start(bench(server, json, "--duration", "60s", "--concurrency", "4"));
      server.awaitStats(s -> s.requestsServed() >= 20, Duration.ofSeconds(40));
      r.command("bench", BenchCommand.class).stop.stop(); // what Ctrl-C does
      assertThat(r.exitCode()).as(r.err()).isZero();
      JsonNode root = read(json);
      assertThat(root.get("interrupted").asBoolean()).isTrue();
      assertAccountedFor(root);
      assertThat(root.get("succeeded").asLong()).isGreaterThanOrEqualTo(20);
      assertThat(r.out()).contains("Interrupted: the figures so far.");
    }
  }

  @Test
  void stopWithRequestsCountsTheOnesNeverSent(@TempDir Path dir) throws Exception {
    try (MockLlmServer server =
        MockLlmServer.builder()
            .defaultReply(Reply.builder().headersDelay(Duration.ofMillis(2)).build())
            .start()) {
      Path json = dir.resolve("bench.json");
      CliRun r = CliRun.start(bench(server, json, "--requests", "1000000", "--concurrency", "4"));
      server.awaitStats(s -> s.requestsServed() >= 20, Duration.ofSeconds(40));
      r.command("bench", BenchCommand.class).stop.stop(); // what Ctrl-C does
      assertThat(r.exitCode()).as(r.err()).isZero();
      JsonNode root = read(json);
      assertThat(root.get("interrupted").asBoolean()).isTrue();
      assertAccountedFor(root);
      // Every request it was asked to make: sent (and accounted for) or never sent.
      assertThat(root.get("requests").asLong() + root.get("not_sent").asLong())
          .isEqualTo(1_000_000L);
      assertThat(root.get("not_sent").asLong()).isPositive();
      assertThat(r.out()).contains("not sent");
    }
  }

  @Test
  void aServerThatIsDownEndsWithOneLineNamingThePhaseAndHost() throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      port = s.getLocalPort();
    }
    CliRun r =
        CliRun.run(
            "bench", "--url", "http://127.0.0.1:" + port + "/v1/chat/completions", "--no-progress");
    assertThat(r.exitCode()).isEqualTo(1);
    assertThat(r.err().strip())
        .startsWith("llmpool: ")
        .doesNotContain("\n")
        .contains("phase=connect")
        .contains("127.0.0.1:" + port);
  }

  @Test
  void aServerWithAnUntrustedCertificateEndsWithOneTlsLine() {
    try (MockLlmServer server = MockLlmServer.builder().tls(true).start()) {
      CliRun r =
          CliRun.run(
              "bench",
              "--url",
              server.url("/v1/chat/completions").toString(),
              "--requests",
              "5",
              "--no-progress");
      assertThat(r.exitCode()).isEqualTo(1);
      assertThat(r.err().strip())
          .startsWith("llmpool: ")
          .doesNotContain("\n")
          .contains("phase=tls")
          .contains("127.0.0.1:" + server.port());
    }
  }

  @Test
  void malformedValuesAreUsageErrorsWithExitTwo(@TempDir Path dir) {
    String url = "http://127.0.0.1:9/v1/chat/completions";
    String[][] cases = {
      {"bench"},
      {"bench", "--url", "not a url"},
      {"bench", "--url", "ftp://127.0.0.1/x"},
      {"bench", "--url", url, "--http1", "--http2"},
      {"bench", "--url", url, "--requests", "0"},
      {"bench", "--url", url, "--requests", "ten"},
      {"bench", "--url", url, "--requests", "5", "--duration", "5s"},
      {"bench", "--url", url, "--duration", "5"},
      {"bench", "--url", url, "--rate", "-1"},
      {"bench", "--url", url, "--rate", "NaN"},
      {"bench", "--url", url, "--concurrency", "0"},
      {"bench", "--url", url, "--max-connections", "0"},
      {"bench", "--url", url, "--max-per-host", "5", "--max-connections", "2"},
      {"bench", "--url", url, "--keep-alive-expiry", "soon"},
      {"bench", "--url", url, "--pool-timeout", "-1s"},
      {"bench", "--url", url, "--header", "no colon"},
      {"bench", "--url", url, "--warn-above", "1.5"},
      {"bench", "--url", url, "--warn-above", "0"},
      {"bench", "--url", url, "--warn-after", "-1s"},
      {"bench", "--url", url, "--header", "X-Bad: a\rb"},
      {"bench", "--url", url, "--body", dir.resolve("missing.json").toString()},
      {"bench", "--url", url, "--cacert", dir.resolve("missing.pem").toString()},
      {"bench", "--url", url, "--json", dir.resolve("no/such/dir.json").toString()},
      {"bench", "--url", url, "--no-such-flag"},
    };
    for (String[] args : cases) {
      CliRun r = CliRun.run(args);
      assertThat(r.exitCode()).as(String.join(" ", args) + "\n" + r.err()).isEqualTo(2);
      assertThat(r.err())
          .as(String.join(" ", args))
          .containsAnyOf("Usage: llmpool bench", "Unknown option");
    }
  }
}
