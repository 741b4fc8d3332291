package dev.llmpool.testkit;

import static dev.llmpool.testkit.Clients.CHAT;
import static dev.llmpool.testkit.Clients.MESSAGES;
import static dev.llmpool.testkit.Clients.chat;
import static dev.llmpool.testkit.Clients.fields;
import static dev.llmpool.testkit.Clients.json;
import static dev.llmpool.testkit.Clients.send;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Bad requests get the provider's own error shape and status, and take no scripted reply. */
class ValidationTest {
  private static MockLlmServer server;
  private static HttpClient client;

  @BeforeAll
  static void start() {
    server =
        MockLlmServer.builder()
            .apiKey("good-key")
            .models("gpt-test", "claude-test")
            .maxRequestBodyBytes(4096)
            .start();
    client = Clients.client(server, HttpClient.Version.HTTP_1_1);
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  private static HttpResponse<String> openAi(String body, String key) {
    return send(
        client,
        HttpRequest.newBuilder(server.url("/v1/chat/completions"))
            .header("authorization", "Bearer " + key)
            .POST(HttpRequest.BodyPublishers.ofString(body))
            .build());
  }

  private static HttpResponse<String> anthropic(String body, String key, boolean version) {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(server.url("/v1/messages"))
            .header("x-api-key", key)
            .POST(HttpRequest.BodyPublishers.ofString(body));
    if (version) {
      b.header("anthropic-version", "2023-06-01");
    }
    return send(client, b.build());
  }

  private static JsonNode openAiError(HttpResponse<String> r, int status) {
    assertThat(r.statusCode()).isEqualTo(status);
    JsonNode body = json(r.body());
    assertThat(fields(body)).containsExactly("error");
    assertThat(fields(body.get("error"))).containsExactly("message", "type", "param", "code");
    return body.get("error");
  }

  private static JsonNode anthropicError(HttpResponse<String> r, int status, String type) {
    assertThat(r.statusCode()).isEqualTo(status);
    JsonNode body = json(r.body());
    assertThat(fields(body)).containsExactly("type", "error", "request_id");
    assertThat(body.get("type").asText()).isEqualTo("error");
    assertThat(body.get("error").get("type").asText()).isEqualTo(type);
    assertThat(body.get("request_id").asText())
        .isEqualTo(r.headers().firstValue("request-id").orElseThrow());
    return body.get("error");
  }

  @Test
  void missingBearerTokenIs401InOpenAiShape() {
    HttpResponse<String> r =
        send(
            client,
            HttpRequest.newBuilder(server.url("/v1/chat/completions"))
                .POST(HttpRequest.BodyPublishers.ofString(CHAT))
                .build());
    JsonNode e = openAiError(r, 401);
    assertThat(e.get("type").asText()).isEqualTo("invalid_request_error");
    assertThat(e.get("message").asText()).contains("API key");
  }

  @Test
  void wrongKeyIs401AndTheKeyIsNotEchoed() {
    HttpResponse<String> r = openAi(CHAT, "sk-secret-wrong");
    JsonNode e = openAiError(r, 401);
    assertThat(e.get("code").asText()).isEqualTo("invalid_api_key");
    assertThat(r.body()).doesNotContain("sk-secret-wrong");
    anthropicError(anthropic(MESSAGES, "sk-secret-wrong", true), 401, "authentication_error");
  }

  @Test
  void anthropicNeedsItsKeyAndVersionHeaders() {
    anthropicError(
        send(
            client,
            HttpRequest.newBuilder(server.url("/v1/messages"))
                .header("anthropic-version", "2023-06-01")
                .POST(HttpRequest.BodyPublishers.ofString(MESSAGES))
                .build()),
        401,
        "authentication_error");
    JsonNode e =
        anthropicError(anthropic(MESSAGES, "good-key", false), 400, "invalid_request_error");
    assertThat(e.get("message").asText()).contains("anthropic-version");
  }

  @Test
  void invalidJsonIs400() {
    assertThat(openAiError(openAi("{not json", "good-key"), 400).get("type").asText())
        .isEqualTo("invalid_request_error");
    anthropicError(anthropic("[1,2]", "good-key", true), 400, "invalid_request_error");
  }

  @Test
  void missingModelOrMessagesIs400() {
    assertThat(
            openAiError(
                    openAi("{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}", "good-key"),
                    400)
                .get("message")
                .asText())
        .contains("model");
    JsonNode e = openAiError(openAi("{\"model\":\"gpt-test\"}", "good-key"), 400);
    assertThat(e.get("param").asText()).isEqualTo("messages");
    assertThat(e.get("code").asText()).isEqualTo("missing_required_parameter");
    assertThat(
            openAiError(openAi("{\"model\":\"gpt-test\",\"messages\":[]}", "good-key"), 400)
                .get("code")
                .asText())
        .isEqualTo("empty_array");
    anthropicError(
        anthropic(
            "{\"model\":\"claude-test\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}",
            "good-key",
            true),
        400,
        "invalid_request_error");
  }

  @Test
  void unknownModelIs404() {
    JsonNode e =
        openAiError(
            openAi(
                "{\"model\":\"nope\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}",
                "good-key"),
            404);
    assertThat(e.get("code").asText()).isEqualTo("model_not_found");
    anthropicError(
        anthropic(
            "{\"model\":\"nope\",\"max_tokens\":5,\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}",
            "good-key",
            true),
        404,
        "not_found_error");
  }

  @Test
  void unknownPathIs404() {
    HttpResponse<String> r =
        send(
            client,
            HttpRequest.newBuilder(server.url("/v1/nothing"))
                .header("authorization", "Bearer good-key")
                .build());
    assertThat(openAiError(r, 404).get("message").asText())
        .isEqualTo("Invalid URL (GET /v1/nothing)");
  }

  @Test
  void bodyOverTheLimitIs413() {
    String big =
        "{\"model\":\"gpt-test\",\"messages\":[{\"role\":\"user\",\"content\":\""
            + "x".repeat(5000)
            + "\"}]}";
    JsonNode e = openAiError(openAi(big, "good-key"), 413);
    assertThat(e.get("code").asText()).isEqualTo("request_too_large");
    anthropicError(anthropic(big, "good-key", true), 413, "request_too_large");
  }

  @Test
  void headersOverTheLimitAre431() {
    HttpResponse<String> r =
        send(
            client,
            HttpRequest.newBuilder(server.url("/v1/chat/completions"))
                .header("authorization", "Bearer good-key")
                .header("x-big", "y".repeat(20_000))
                .POST(HttpRequest.BodyPublishers.ofString(CHAT))
                .build());
    assertThat(openAiError(r, 431).get("message").asText()).contains("too large");
  }

  @Test
  void rejectedRequestsAreRecordedWithTheirErrorAndTakeNoQueuedReply() {
    try (MockLlmServer s = MockLlmServer.builder().start()) {
      s.enqueue(Reply.text("queued"));
      HttpClient c = Clients.client(s, HttpClient.Version.HTTP_1_1);
      HttpResponse<String> bad =
          send(
              c,
              HttpRequest.newBuilder(s.url("/v1/chat/completions"))
                  .POST(HttpRequest.BodyPublishers.ofString(CHAT))
                  .build());
      assertThat(bad.statusCode()).isEqualTo(401);
      assertThat(s.takeRequest().reply().status()).isEqualTo(401);
      assertThat(s.queuedReplies()).isEqualTo(1);
      JsonNode ok = json(send(c, chat(s, CHAT).build()).body());
      assertThat(ok.get("choices").get(0).get("message").get("content").asText())
          .isEqualTo("queued");
    }
  }

  @Test
  void badFaultHeaderIs400NamingTheChoices() {
    HttpResponse<String> r =
        send(
            client,
            chat(server, CHAT)
                .setHeader("authorization", "Bearer good-key")
                .header("x-mock-fault", "explode")
                .build());
    assertThat(r.statusCode()).isEqualTo(400);
    assertThat(json(r.body()).get("error").get("message").asText())
        .contains("explode")
        .contains("reset-stream-mid-body");
  }

  @Test
  void modelListIsTheConfiguredModels() {
    JsonNode r =
        json(
            send(
                    client,
                    HttpRequest.newBuilder(server.url("/v1/models"))
                        .header("authorization", "Bearer good-key")
                        .build())
                .body());
    assertThat(r.get("data").findValuesAsText("id")).containsExactly("gpt-test", "claude-test");
  }
}
