package dev.llmpool.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.llmpool.testkit.MockLlmServer;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DemoCommandTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final List<String> STRATEGIES =
      List.of("new-connection-per-call", "pooled-http1", "pooled-http2", "pooled-http2-prewarmed");

  /** A small run: 3 agent requests of 4 calls, 2 at a time, with no simulated round trip. */
  private static String[] small(String... more) {
    List<String> a =
        new ArrayList<>(
            List.of(
                "demo",
                "--rtt",
                "0ms",
                "--agents",
                "3",
                "--calls-per-agent",
                "4",
                "--concurrency",
                "2"));
    a.addAll(List.of(more));
    return a.toArray(new String[0]);
  }

  private static JsonNode read(Path p) throws Exception {
    return JSON.readTree(Files.readString(p));
  }

  @Test
  void jsonHasTheContractShapeAndTheCountsAddUp(@TempDir Path dir) throws Exception {
    Path json = dir.resolve("demo.json");
    CliRun r = CliRun.run(small("--json", json.toString(), "--no-progress"));
    assertThat(r.exitCode()).as(r.err()).isZero();

    JsonNode root = read(json);
    assertThat(root.get("rtt_ms").isNumber()).isTrue();
    assertThat(root.get("rtt_ms").asDouble()).isZero();
    assertThat(root.get("interrupted").asBoolean()).isFalse();
    JsonNode strategies = root.get("strategies");
    assertThat(strategies).hasSize(4);
    for (int i = 0; i < 4; i++) {
      JsonNode s = strategies.get(i);
      String name = STRATEGIES.get(i);
      assertThat(s.get("name").asText()).isEqualTo(name);
      assertThat(s.get("calls").asInt()).as(name).isEqualTo(12);
      assertThat(s.get("errors").asInt()).as(name).isZero();
      for (String k : List.of("p50", "p90", "p99", "max")) {
        assertThat(s.get("call_ms").get(k).isNumber()).as(name + " call_ms." + k).isTrue();
      }
      double p50 = s.get("call_ms").get("p50").asDouble();
      double p99 = s.get("call_ms").get("p99").asDouble();
      double max = s.get("call_ms").get("max").asDouble();
      assertThat(p50).as(name).isPositive().isLessThanOrEqualTo(p99);
      assertThat(p99).as(name).isLessThanOrEqualTo(max);
      assertThat(s.get("first_call_ms").isNumber()).as(name).isTrue();
      assertThat(s.get("agent_request_ms").get("p50").isNumber()).as(name).isTrue();
      assertThat(s.get("agent_request_ms").get("p99").isNumber()).as(name).isTrue();
      assertThat(s.get("connections_opened").isIntegralNumber()).as(name).isTrue();
      assertThat(s.get("tls_handshakes").isIntegralNumber()).as(name).isTrue();

      // The server saw every call, once; the client and the server agree on connections.
      JsonNode server = s.get("server");
      JsonNode client = s.get("client");
      assertThat(server.get("requests").asInt()).as(name).isEqualTo(12);
      assertThat(client.get("connections_opened").asLong())
          .as(name)
          .isEqualTo(server.get("connections_accepted").asLong());
      assertThat(client.get("tls_handshakes").asLong())
          .as(name)
          .isEqualTo(server.get("tls_handshakes").asLong());
      assertThat(s.get("tls_handshakes").asLong())
          .as(name + ": one TLS handshake per connection")
          .isEqualTo(s.get("connections_opened").asLong());

      // The pool's health (issue 7): 2 agents at a time never come near 80 % of 100 connections.
      JsonNode pool = s.get("pool");
      assertThat(pool.get("peak_utilization").asDouble()).as(name).isBetween(0.0, 0.02);
      assertThat(pool.get("warning_fired").isBoolean()).as(name).isTrue();
      assertThat(pool.get("warning_fired").asBoolean()).as(name).isFalse();
      if (i > 0) {
        assertThat(pool.get("pools").asInt()).as(name).isEqualTo(1);
        assertThat(pool.get("peak_open_connections").asInt())
            .as(name + ": no more connections than agents at once")
            .isBetween(1, 2);
        assertThat(pool.get("peak_active").asInt()).as(name).isBetween(1, 2);
        assertThat(pool.get("peak_utilization").asDouble())
            .as(name)
            .isGreaterThanOrEqualTo(pool.get("peak_active").asDouble() / 100);
        assertThat(pool.get("stats").asText()).as(name).startsWith("PoolStats{");
      } else {
        assertThat(pool.get("pools").asInt()).as("a pool per call").isEqualTo(12);
      }
    }

    assertThat(strategies.get(0).get("protocol").asText())
        .as("a fresh client has the library's defaults: HTTP/2 by ALPN")
        .isEqualTo("HTTP/2");
    assertThat(strategies.get(1).get("protocol").asText()).isEqualTo("HTTP/1.1");
    assertThat(strategies.get(2).get("protocol").asText()).isEqualTo("HTTP/2");
    assertThat(strategies.get(3).get("protocol").asText()).isEqualTo("HTTP/2");

    JsonNode fresh = strategies.get(0);
    assertThat(fresh.get("connections_opened").asInt())
        .as("a new connection for every call")
        .isEqualTo(12);
    assertThat(fresh.get("client").get("calls_that_opened_a_connection").asInt()).isEqualTo(12);

    JsonNode h1 = strategies.get(1);
    assertThat(h1.get("connections_opened").asInt())
        .as("HTTP/1.1 needs one connection per call in flight, no more")
        .isBetween(1, 2);
    assertThat(h1.get("client").get("calls_on_reused_connection").asInt())
        .isGreaterThanOrEqualTo(10);

    JsonNode h2 = strategies.get(2);
    assertThat(h2.get("connections_opened").asInt())
        .as("HTTP/2 multiplexes the calls on one connection")
        .isEqualTo(1);

    JsonNode warm = strategies.get(3);
    assertThat(warm.get("connections_opened").asInt()).isEqualTo(1);
    assertThat(warm.get("client").get("calls_that_opened_a_connection").asInt())
        .as("pre-warmed: no call opens a connection")
        .isZero();
    assertThat(h2.get("client").get("calls_that_opened_a_connection").asInt())
        .as("HTTP/2: the first call opens the connection, the others wait for it")
        .isEqualTo(1);
    assertThat(warm.get("client").get("phases_ms").has("tcp_connect")).isFalse();

    JsonNode headline = root.get("headline");
    assertThat(headline.get("baseline").asText()).isEqualTo("new-connection-per-call");
    assertThat(headline.get("saved_ms_per_call").isNumber()).isTrue();
    assertThat(r.out())
        .contains("JSON: " + json.toAbsolutePath())
        .containsPattern("(?m)^strategy +calls +errors +p50");
    for (String name : STRATEGIES) {
      assertThat(r.out()).containsPattern("(?m)^" + name + " +12 +0 ");
    }
    assertThat(r.out())
        .contains("Pool peak utilization: new-connection-per-call 1%")
        .contains("no utilization warning fired.");
  }

  @Test
  void tableAndHeadlineGoToStdoutAndProgressToStderrAsPlainLines() {
    CliRun r = CliRun.run(small());
    assertThat(r.exitCode()).as(r.err()).isZero();
    assertThat(r.out())
        .startsWith("llmpool demo: 3 agent requests of 4 chat calls each, 2 at a time")
        .containsPattern("(?m)^(Pooling saved \\d+ ms per call|Pooling saved nothing)")
        .contains("as the server counted them (the client counted the same)");
    // Not a terminal: the bar is printed as lines, with no carriage return or escape sequence.
    assertThat(r.err()).contains("pooled-http2-prewarmed").contains("100%").contains("12/12");
    assertThat(r.err()).doesNotContain("\r").doesNotContain("\u001b[");
  }

  @Test
  void reportIsOneSelfContainedHtmlFileWithFourCharts(@TempDir Path dir) throws Exception {
    Path report = dir.resolve("report.html");
    CliRun r = CliRun.run(small("--report", report.toString(), "--no-progress"));
    assertThat(r.exitCode()).as(r.err()).isZero();
    String html = Files.readString(report, StandardCharsets.UTF_8);
    assertThat(html).startsWith("<!DOCTYPE html>").contains("Pooling saved");
    // Self-contained: no script, no stylesheet or image fetched from anywhere.
    assertThat(html).doesNotContain("<script").doesNotContain("<link");
    assertThat(html).doesNotContainPattern("src=\"(?!data:)");
    Matcher m = Pattern.compile("src=\"data:image/png;base64,([A-Za-z0-9+/=]+)\"").matcher(html);
    int charts = 0;
    while (m.find()) {
      BufferedImage img =
          ImageIO.read(new ByteArrayInputStream(Base64.getDecoder().decode(m.group(1))));
      assertThat(img).isNotNull();
      assertThat(img.getWidth()).isGreaterThan(1000);
      charts++;
    }
    assertThat(charts).isEqualTo(4);
    for (String name : STRATEGIES) {
      assertThat(html).contains(name);
    }
    // The pools' health: one row per strategy; 12 pools for new-connection-per-call.
    assertThat(html).contains("<h2>Pool health</h2>");
    assertThat(html)
        .containsPattern("<td class=\"name\">new-connection-per-call</td><td>12</td>")
        .containsPattern("<td class=\"name\">pooled-http1</td><td>1</td>");
    assertThat(Pattern.compile("<td>not fired</td>").matcher(html).results().count()).isEqualTo(4);
    assertThat(r.out()).contains("Report: " + report.toAbsolutePath());
  }

  @Test
  void jsonToStdoutLeavesStdoutPureJson() throws Exception {
    CliRun r = CliRun.run(small("--json", "-", "--no-progress"));
    assertThat(r.exitCode()).as(r.err()).isZero();
    JsonNode root = JSON.readTree(r.out());
    assertThat(root.get("strategies")).hasSize(4);
    assertThat(r.err()).contains("Pooling saved");
  }

  @Test
  void stopShowsTheFiguresSoFar(@TempDir Path dir) throws Exception {
    Path json = dir.resolve("partial.json");
    CliRun r =
        CliRun.start(
            "demo",
            "--rtt",
            "20ms",
            "--agents",
            "50",
            "--calls-per-agent",
            "50",
            "--concurrency",
            "5",
            "--json",
            json.toString(),
            "--no-progress");
    DemoCommand demo = r.command("demo", DemoCommand.class);
    assertThat(demo.measuring.await(40, TimeUnit.SECONDS)).isTrue();
    demo.stop.stop(); // what Ctrl-C does
    assertThat(r.exitCode()).as(r.err()).isZero();
    assertThat(r.out()).contains("Interrupted: the figures so far.");
    JsonNode root = read(json);
    assertThat(root.get("interrupted").asBoolean()).isTrue();
    JsonNode strategies = root.get("strategies");
    assertThat(strategies.size()).isBetween(1, 4);
    for (JsonNode s : strategies) {
      assertThat(s.get("calls").asInt()).isLessThan(2500);
      assertThat(s.get("errors").asInt()).as("a cancelled call is not an error").isZero();
      JsonNode server = s.get("server");
      // A call cancelled in flight may or may not have reached the server; none is counted twice.
      assertThat(server.get("requests").asInt()).isGreaterThanOrEqualTo(s.get("calls").asInt());
      assertThat(server.get("requests").asInt())
          .isLessThanOrEqualTo(s.get("calls").asInt() + s.path("cancelled").asInt());
    }
  }

  @Test
  void aRealApiByUrlRunsTheSameComparisonWithTheClientsCounts(@TempDir Path dir) throws Exception {
    try (MockLlmServer api = MockLlmServer.builder().tls(true).start()) {
      Path json = dir.resolve("remote.json");
      CliRun r =
          CliRun.run(
              "demo",
              "--base-url",
              api.baseUrl() + "/v1",
              "--model",
              "some-model",
              "--api-key-env",
              "PATH", // any variable that is set: the mock accepts any key
              "--cacert",
              api.certificate().pemFile().toString(),
              "--agents",
              "2",
              "--calls-per-agent",
              "3",
              "--concurrency",
              "2",
              "--json",
              json.toString(),
              "--no-progress");
      assertThat(r.exitCode()).as(r.err()).isZero();
      JsonNode root = read(json);
      assertThat(root.get("target").asText()).isEqualTo(api.baseUrl() + "/v1");
      assertThat(root.get("rtt_source").asText()).startsWith("measured");
      assertThat(root.get("rtt_ms").isNumber()).isTrue();
      JsonNode strategies = root.get("strategies");
      assertThat(strategies).hasSize(4);
      long opened = 0;
      for (JsonNode s : strategies) {
        assertThat(s.get("calls").asInt()).isEqualTo(6);
        assertThat(s.get("errors").asInt()).isZero();
        assertThat(s.get("server").isNull()).isTrue();
        opened += s.get("connections_opened").asLong();
      }
      assertThat(strategies.get(0).get("connections_opened").asInt()).isEqualTo(6);
      assertThat(strategies.get(2).get("connections_opened").asInt()).isEqualTo(1);
      // Warm-up: one call per kind of client (3), then 4 x 6 measured calls.
      assertThat(api.stats().requestsServed()).isEqualTo(3 + 24);
      assertThat(api.stats().connectionsAccepted()).isEqualTo(3 + opened);
      assertThat(api.requests())
          .allSatisfy(q -> assertThat(q.model()).isEqualTo("some-model"))
          .allSatisfy(q -> assertThat(q.header("authorization")).startsWith("Bearer "));
    }
  }

  @Test
  void anApiThatRefusesTheKeyEndsWithOneLineAndExitOne() {
    try (MockLlmServer api = MockLlmServer.builder().tls(true).apiKey("right-key").start()) {
      CliRun r =
          CliRun.run(
              "demo",
              "--base-url",
              api.baseUrl() + "/v1",
              "--model",
              "m",
              "--api-key-env",
              "PATH",
              "--cacert",
              api.certificate().pemFile().toString(),
              "--no-progress");
      assertThat(r.exitCode()).isEqualTo(1);
      String last = lastLine(r.err());
      assertThat(last)
          .startsWith("llmpool: ")
          .contains("401")
          .contains("phase=http_status")
          .contains("127.0.0.1:" + api.port())
          .doesNotContain(System.getenv("PATH"));
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
            "demo",
            "--base-url",
            "https://127.0.0.1:" + port + "/v1",
            "--model",
            "m",
            "--no-progress");
    assertThat(r.exitCode()).isEqualTo(1);
    assertThat(lastLine(r.err()))
        .startsWith("llmpool: ")
        .contains("phase=connect")
        .contains("127.0.0.1:" + port);
  }

  @Test
  void aServerWithAnUntrustedCertificateEndsWithOneTlsLine() {
    try (MockLlmServer api = MockLlmServer.builder().tls(true).start()) {
      CliRun r =
          CliRun.run("demo", "--base-url", api.baseUrl() + "/v1", "--model", "m", "--no-progress");
      assertThat(r.exitCode()).isEqualTo(1);
      assertThat(lastLine(r.err()))
          .startsWith("llmpool: ")
          .contains("phase=tls")
          .contains("127.0.0.1:" + api.port());
    }
  }

  @Test
  void malformedValuesAreUsageErrorsWithExitTwo(@TempDir Path dir) {
    String[][] cases = {
      {"demo", "--agents", "0"},
      {"demo", "--agents", "ten"},
      {"demo", "--concurrency", "-1"},
      {"demo", "--calls-per-agent", "1.5"},
      {"demo", "--rtt", "50"},
      {"demo", "--rtt", "fast"},
      {"demo", "--server-latency", "1x"},
      {"demo", "--base-url", "not a url"},
      {"demo", "--base-url", "ftp://example.com/v1", "--model", "m"},
      {"demo", "--base-url", "https://api.example.com/v1"},
      {"demo", "--base-url", "https://api.example.com/v1", "--model", "m", "--rtt", "50ms"},
      {"demo", "--cacert", "cert.pem"},
      {"demo", "--json", dir.resolve("no/such/dir/x.json").toString()},
      {"demo", "--report", dir.toString()},
      {"demo", "--no-such-flag"},
    };
    for (String[] args : cases) {
      CliRun r = CliRun.run(args);
      assertThat(r.exitCode()).as(String.join(" ", args) + "\n" + r.err()).isEqualTo(2);
      assertThat(r.err())
          .as(String.join(" ", args))
          .containsAnyOf("Usage: llmpool demo", "Unknown option");
      assertThat(r.out()).as(String.join(" ", args)).isEmpty();
    }
  }

  private static String lastLine(String text) {
    List<String> lines = text.strip().lines().toList();
    return lines.get(lines.size() - 1);
  }
}
