package dev.llmpool.testkit;

import static dev.llmpool.testkit.Clients.CHAT;
import static dev.llmpool.testkit.Clients.MESSAGES;
import static dev.llmpool.testkit.Clients.chat;
import static dev.llmpool.testkit.Clients.events;
import static dev.llmpool.testkit.Clients.fields;
import static dev.llmpool.testkit.Clients.json;
import static dev.llmpool.testkit.Clients.messages;
import static dev.llmpool.testkit.Clients.send;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The JSON and SSE the server writes match the providers' shapes, field by field. */
class ApiShapesTest {
  private static final Instant NOW = Instant.parse("2026-01-02T03:04:05Z");
  private static MockLlmServer server;
  private static HttpClient client;

  @BeforeAll
  static void start() {
    server =
        MockLlmServer.builder()
            .defaultReply(Reply.text("Hello there, friend."))
            .clock(Clock.fixed(NOW, ZoneOffset.UTC))
            .start();
    client = Clients.client(server, HttpClient.Version.HTTP_1_1);
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  @Test
  void chatCompletionHasOpenAiFieldsAndUsage() {
    HttpResponse<String> r = send(client, chat(server, CHAT).build());
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.headers().firstValue("content-type")).hasValue("application/json");
    JsonNode body = json(r.body());
    assertThat(fields(body))
        .containsExactly(
            "id",
            "object",
            "created",
            "model",
            "choices",
            "usage",
            "service_tier",
            "system_fingerprint");
    assertThat(body.get("id").asText()).startsWith("chatcmpl-");
    assertThat(body.get("object").asText()).isEqualTo("chat.completion");
    assertThat(body.get("created").asLong()).isEqualTo(NOW.getEpochSecond());
    assertThat(body.get("model").asText()).isEqualTo("gpt-test");
    JsonNode choice = body.get("choices").get(0);
    assertThat(fields(choice)).containsExactly("index", "message", "logprobs", "finish_reason");
    assertThat(choice.get("finish_reason").asText()).isEqualTo("stop");
    assertThat(fields(choice.get("message")))
        .containsExactly("role", "content", "refusal", "annotations");
    assertThat(choice.get("message").get("role").asText()).isEqualTo("assistant");
    assertThat(choice.get("message").get("content").asText()).isEqualTo("Hello there, friend.");
    JsonNode usage = body.get("usage");
    assertThat(usage.get("completion_tokens").asInt()).isEqualTo(3);
    assertThat(usage.get("prompt_tokens").asInt()).isPositive();
    assertThat(usage.get("total_tokens").asInt()).isEqualTo(usage.get("prompt_tokens").asInt() + 3);
    assertThat(usage.get("prompt_tokens_details").has("cached_tokens")).isTrue();
    assertThat(usage.get("completion_tokens_details").has("reasoning_tokens")).isTrue();
  }

  @Test
  void chatStreamSendsChunksThenUsageThenDone() {
    String body =
        "{\"model\":\"gpt-test\",\"stream\":true,\"stream_options\":{\"include_usage\":true},"
            + "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
    HttpResponse<String> r = send(client, chat(server, body).build());
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.headers().firstValue("content-type")).hasValue("text/event-stream; charset=utf-8");
    List<String[]> ev = events(r.body());
    assertThat(ev.get(ev.size() - 1)[1]).isEqualTo("[DONE]");
    JsonNode first = json(ev.get(0)[1]);
    assertThat(first.get("object").asText()).isEqualTo("chat.completion.chunk");
    assertThat(first.get("choices").get(0).get("delta").get("role").asText())
        .isEqualTo("assistant");
    assertThat(first.has("usage")).isTrue();
    assertThat(first.get("usage").isNull()).isTrue();
    StringBuilder text = new StringBuilder();
    for (String[] e : ev.subList(1, ev.size() - 3)) {
      JsonNode c = json(e[1]);
      assertThat(c.get("id").asText()).isEqualTo(first.get("id").asText());
      text.append(c.get("choices").get(0).get("delta").get("content").asText());
    }
    assertThat(text.toString()).isEqualTo("Hello there, friend.");
    JsonNode finish = json(ev.get(ev.size() - 3)[1]);
    assertThat(finish.get("choices").get(0).get("finish_reason").asText()).isEqualTo("stop");
    assertThat(fields(finish.get("choices").get(0).get("delta"))).isEmpty();
    JsonNode usage = json(ev.get(ev.size() - 2)[1]);
    assertThat(usage.get("choices")).isEmpty();
    assertThat(usage.get("usage").get("completion_tokens").asInt()).isEqualTo(3);
  }

  @Test
  void chatStreamWithoutUsageOptionHasNoUsageChunk() {
    String body =
        "{\"model\":\"m\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
    List<String[]> ev = events(send(client, chat(server, body).build()).body());
    for (String[] e : ev.subList(0, ev.size() - 1)) {
      assertThat(json(e[1]).has("usage")).isFalse();
      assertThat(json(e[1]).get("choices")).isNotEmpty();
    }
  }

  @Test
  void maxTokensCutsTheReplyWithFinishReasonLength() {
    String body =
        "{\"model\":\"m\",\"max_completion_tokens\":2,"
            + "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
    JsonNode r = json(send(client, chat(server, body).build()).body());
    assertThat(r.get("choices").get(0).get("message").get("content").asText())
        .isEqualTo("Hello there,");
    assertThat(r.get("choices").get(0).get("finish_reason").asText()).isEqualTo("length");
    assertThat(r.get("usage").get("completion_tokens").asInt()).isEqualTo(2);
  }

  @Test
  void anthropicMessageHasMessagesFields() {
    HttpResponse<String> r = send(client, messages(server, MESSAGES).build());
    assertThat(r.statusCode()).isEqualTo(200);
    JsonNode body = json(r.body());
    assertThat(fields(body))
        .containsExactly(
            "id", "type", "role", "model", "content", "stop_reason", "stop_sequence", "usage");
    assertThat(body.get("id").asText()).startsWith("msg_");
    assertThat(body.get("type").asText()).isEqualTo("message");
    assertThat(body.get("model").asText()).isEqualTo("claude-test");
    assertThat(body.get("content").get(0).get("type").asText()).isEqualTo("text");
    assertThat(body.get("content").get(0).get("text").asText()).isEqualTo("Hello there, friend.");
    assertThat(body.get("stop_reason").asText()).isEqualTo("end_turn");
    assertThat(body.get("stop_sequence").isNull()).isTrue();
    assertThat(body.get("usage").get("output_tokens").asInt()).isEqualTo(3);
    assertThat(body.get("usage").get("input_tokens").asInt()).isPositive();
  }

  @Test
  void anthropicStreamSendsTheDocumentedEventSequence() {
    String body =
        "{\"model\":\"claude-test\",\"max_tokens\":100,\"stream\":true,"
            + "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
    HttpResponse<String> r = send(client, messages(server, body).build());
    List<String[]> ev = events(r.body());
    assertThat(ev.stream().map(e -> e[0]).toList())
        .containsExactly(
            "message_start",
            "content_block_start",
            "ping",
            "content_block_delta",
            "content_block_delta",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop");
    for (String[] e : ev) {
      assertThat(json(e[1]).get("type").asText()).isEqualTo(e[0]); // event name = data type
    }
    JsonNode start = json(ev.get(0)[1]).get("message");
    assertThat(start.get("content")).isEmpty();
    assertThat(start.get("stop_reason").isNull()).isTrue();
    assertThat(start.get("usage").get("input_tokens").asInt()).isPositive();
    assertThat(json(ev.get(3)[1]).get("delta").get("type").asText()).isEqualTo("text_delta");
    JsonNode delta = json(ev.get(7)[1]);
    assertThat(delta.get("delta").get("stop_reason").asText()).isEqualTo("end_turn");
    assertThat(delta.get("usage").get("output_tokens").asInt()).isEqualTo(3);
  }

  @Test
  void anthropicMaxTokensStopsWithMaxTokens() {
    String body =
        "{\"model\":\"c\",\"max_tokens\":1,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
    JsonNode r = json(send(client, messages(server, body).build()).body());
    assertThat(r.get("stop_reason").asText()).isEqualTo("max_tokens");
    assertThat(r.get("content").get(0).get("text").asText()).isEqualTo("Hello");
  }

  @Test
  void modelsListsInEachProvidersShape() {
    HttpResponse<String> openAi =
        send(
            client,
            HttpRequest.newBuilder(server.url("/v1/models"))
                .header("authorization", "Bearer k")
                .build());
    JsonNode o = json(openAi.body());
    assertThat(o.get("object").asText()).isEqualTo("list");
    assertThat(fields(o.get("data").get(0))).containsExactly("id", "object", "created", "owned_by");
    HttpResponse<String> anthropic =
        send(
            client,
            HttpRequest.newBuilder(server.url("/v1/models"))
                .header("x-api-key", "k")
                .header("anthropic-version", "2023-06-01")
                .build());
    JsonNode a = json(anthropic.body());
    assertThat(fields(a)).containsExactly("data", "has_more", "first_id", "last_id");
    assertThat(fields(a.get("data").get(0)))
        .containsExactly("type", "id", "display_name", "created_at");
  }

  @Test
  void everyResponseCarriesRequestIdsAndRateLimitHeaders() {
    HttpResponse<String> o = send(client, chat(server, CHAT).build());
    String id = o.headers().firstValue("x-request-id").orElseThrow();
    assertThat(id).matches("req_[0-9a-f]{32}");
    assertThat(o.headers().firstValue("request-id")).hasValue(id);
    assertThat(o.headers().firstValue("x-ratelimit-limit-requests")).hasValue("10000");
    assertThat(o.headers().firstValue("x-ratelimit-limit-tokens")).hasValue("2000000");
    assertThat(o.headers().firstValue("x-ratelimit-remaining-requests").orElseThrow())
        .matches("\\d+");
    assertThat(o.headers().firstValue("x-ratelimit-remaining-tokens").orElseThrow())
        .matches("\\d+");
    assertThat(o.headers().firstValue("x-ratelimit-reset-requests").orElseThrow())
        .matches("(\\d+ms|(\\d+h)?(\\d+m)?\\d+(\\.\\d+)?s)");
    assertThat(o.headers().firstValue("x-ratelimit-reset-tokens")).isPresent();

    HttpResponse<String> a = send(client, messages(server, MESSAGES).build());
    for (String kind : List.of("requests", "tokens", "input-tokens", "output-tokens")) {
      String p = "anthropic-ratelimit-" + kind + "-";
      assertThat(a.headers().firstValue(p + "limit").orElseThrow()).matches("\\d+");
      assertThat(a.headers().firstValue(p + "remaining").orElseThrow()).matches("\\d+");
      // RFC 3339, from the server's clock
      assertThat(a.headers().firstValue(p + "reset").orElseThrow())
          .matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ")
          .startsWith("2026-01-02T03:0");
    }
    assertThat(a.headers().firstValue("request-id")).isPresent();
    assertThat(server.requests().get(server.requests().size() - 1).requestId())
        .isEqualTo(a.headers().firstValue("request-id").orElseThrow());
  }

  @Test
  void remainingRequestsCountDownWithinTheWindow() {
    long before =
        Long.parseLong(
            send(client, chat(server, CHAT).build())
                .headers()
                .firstValue("x-ratelimit-remaining-requests")
                .orElseThrow());
    long after =
        Long.parseLong(
            send(client, chat(server, CHAT).build())
                .headers()
                .firstValue("x-ratelimit-remaining-requests")
                .orElseThrow());
    assertThat(after).isEqualTo(before - 1);
  }

  @Test
  void promptIsTheLastUserMessageEvenWithContentParts() {
    try (MockLlmServer echo = MockLlmServer.builder().start()) {
      HttpClient c = Clients.client(echo, HttpClient.Version.HTTP_1_1);
      String body =
          "{\"model\":\"m\",\"messages\":[{\"role\":\"system\",\"content\":\"be brief\"},"
              + "{\"role\":\"user\",\"content\":\"first\"},{\"role\":\"assistant\",\"content\":\"ok\"},"
              + "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"second\"}]}]}";
      JsonNode r = json(send(c, chat(echo, body).build()).body());
      assertThat(r.get("choices").get(0).get("message").get("content").asText())
          .isEqualTo("Mock reply to: second");
      assertThat(echo.takeRequest().prompt()).isEqualTo("second");
    }
  }
}
