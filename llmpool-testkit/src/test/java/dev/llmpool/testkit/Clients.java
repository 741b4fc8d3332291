package dev.llmpool.testkit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** JDK HttpClient helpers for the tests: plain clients, as the issue asks, not llmpool's. */
final class Clients {
  static final ObjectMapper JSON = new ObjectMapper();
  static final String CHAT =
      "{\"model\":\"gpt-test\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
  static final String MESSAGES =
      "{\"model\":\"claude-test\",\"max_tokens\":100,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";

  private Clients() {}

  /** A client for the server: HTTP/1.1 in cleartext, HTTP/2 over TLS (ALPN) when asked. */
  static HttpClient client(MockLlmServer server, HttpClient.Version version) {
    HttpClient.Builder b =
        HttpClient.newBuilder().version(version).connectTimeout(Duration.ofSeconds(10));
    if (server.tls()) {
      b.sslContext(server.certificate().sslContext());
    }
    return b.build();
  }

  static HttpRequest.Builder chat(MockLlmServer server, String body) {
    return HttpRequest.newBuilder(server.url("/v1/chat/completions"))
        .timeout(Duration.ofSeconds(20))
        .header("authorization", "Bearer test-key")
        .header("content-type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(body));
  }

  static HttpRequest.Builder messages(MockLlmServer server, String body) {
    return HttpRequest.newBuilder(server.url("/v1/messages"))
        .timeout(Duration.ofSeconds(20))
        .header("x-api-key", "test-key")
        .header("anthropic-version", "2023-06-01")
        .header("content-type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(body));
  }

  static HttpResponse<String> send(HttpClient client, HttpRequest request) {
    try {
      return client.send(request, HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  static JsonNode json(String body) {
    try {
      return JSON.readTree(body);
    } catch (IOException e) {
      throw new UncheckedIOException("not JSON: " + body, e);
    }
  }

  /** The field names of a JSON object, in order. */
  static List<String> fields(JsonNode node) {
    List<String> names = new ArrayList<>();
    node.fieldNames().forEachRemaining(names::add);
    return names;
  }

  /** An SSE body split into events: each a pair of (event name or null, data). */
  static List<String[]> events(String body) {
    List<String[]> out = new ArrayList<>();
    for (String block : body.split("\n\n")) {
      if (block.isBlank()) {
        continue;
      }
      String event = null;
      StringBuilder data = new StringBuilder();
      for (String line : block.split("\n")) {
        if (line.startsWith("event: ")) {
          event = line.substring(7);
        } else if (line.startsWith("data: ")) {
          data.append(line.substring(6));
        }
      }
      out.add(new String[] {event, data.toString()});
    }
    return out;
  }

  static URI uri(String s) {
    return URI.create(s);
  }
}
