package dev.llmpool.interop;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Predicate;
import org.junit.jupiter.api.Assumptions;

/**
 * A node.js server from {@code src/test/resources/interop}: {@code h1server.js} (raw HTTP/1.1 on
 * node's net module) or {@code h2server.js} (node's http2 module). The test asks its control port
 * what it saw: connections, and every request with its call id and what the server did with it.
 */
final class NodeServer implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient CONTROL =
      HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
  private static volatile Boolean available;

  final int port;
  private final int controlPort;
  private final Proc proc;

  private NodeServer(Proc proc, int port, int controlPort) {
    this.proc = proc;
    this.port = port;
    this.controlPort = controlPort;
  }

  /** Skips the calling test when node.js is not installed. */
  static void assumeNode() {
    Boolean a = available;
    if (a == null) {
      try {
        Process p = new ProcessBuilder("node", "--version").redirectErrorStream(true).start();
        a = p.waitFor() == 0;
      } catch (IOException e) {
        a = false;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        a = false;
      }
      available = a;
    }
    Assumptions.assumeTrue(a, "node.js is not installed (apt-get install nodejs): skipped");
  }

  /** The raw HTTP/1.1 server, listening on {@code host}. */
  static NodeServer h1(String host) {
    return start("h1server.js", host);
  }

  static NodeServer h1() {
    return h1("127.0.0.1");
  }

  /** The HTTP/2 server with {@code config} (see h2server.js). */
  static NodeServer h2(Map<String, Object> config) {
    try {
      return start("h2server.js", JSON.writeValueAsString(config));
    } catch (IOException e) {
      throw new AssertionError(e);
    }
  }

  private static NodeServer start(String script, String arg) {
    assumeNode();
    Path file = resource(script);
    Proc p =
        Proc.start(
            script,
            List.of("node", file.toString(), arg),
            Interop.WORK.resolve(script.replace(".js", ".stderr.log")));
    String[] ready = p.awaitLine("READY ", Duration.ofSeconds(20)).split(" ");
    return new NodeServer(p, Integer.parseInt(ready[1]), Integer.parseInt(ready[2]));
  }

  static Path resource(String name) {
    try {
      return Path.of(
          Objects.requireNonNull(
                  NodeServer.class.getResource("/interop/" + name), "missing resource " + name)
              .toURI());
    } catch (URISyntaxException e) {
      throw new AssertionError(e);
    }
  }

  /** What the server saw so far (answered after every earlier request event was recorded). */
  JsonNode stats() {
    try {
      HttpResponse<String> r =
          CONTROL.send(
              HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + controlPort + "/stats"))
                  .timeout(Duration.ofSeconds(10))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      return JSON.readTree(r.body());
    } catch (IOException e) {
      throw new AssertionError("control port of the node server: " + e, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  /** Requests (h1server) or streams (h2server) the server received, in arrival order. */
  List<JsonNode> requests() {
    JsonNode s = stats();
    JsonNode list = s.has("requests") ? s.get("requests") : s.get("streams");
    List<JsonNode> out = new ArrayList<>();
    list.forEach(out::add);
    return out;
  }

  /** The received requests/streams carrying {@code callId}. */
  List<JsonNode> requestsOf(String callId) {
    return requests().stream().filter(byCall(callId)).toList();
  }

  /** How many of {@code callId}'s requests the server processed (h2server's outcome). */
  long processed(String callId) {
    return requestsOf(callId).stream()
        .filter(r -> !r.has("outcome") || "processed".equals(r.get("outcome").asText()))
        .count();
  }

  /** Distinct connections (h1server) or sessions (h2server) the given calls arrived on. */
  long connectionsOf(List<String> callIds) {
    return requests().stream()
        .filter(r -> r.hasNonNull("callId") && callIds.contains(r.get("callId").asText()))
        .map(r -> r.has("conn") ? r.get("conn").asInt() : r.get("session").asInt())
        .distinct()
        .count();
  }

  /** Connections (h1server) or HTTP/2 sessions (h2server) accepted so far. */
  int connections() {
    JsonNode s = stats();
    return s.has("connections") ? s.get("connections").asInt() : s.get("sessions").asInt();
  }

  static Predicate<JsonNode> byCall(String callId) {
    return r -> r.hasNonNull("callId") && callId.equals(r.get("callId").asText());
  }

  String baseUrl(String scheme, String host) {
    String h = host.indexOf(':') >= 0 ? "[" + host + "]" : host;
    return scheme + "://" + h + ":" + port;
  }

  @Override
  public void close() {
    proc.close();
  }
}
