package dev.llmpool.testkit;

import static dev.llmpool.testkit.Clients.chat;
import static dev.llmpool.testkit.Clients.events;
import static dev.llmpool.testkit.Clients.json;
import static dev.llmpool.testkit.Clients.messages;
import static dev.llmpool.testkit.Clients.send;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Faults that live inside an event stream: an error event after a 200, a cut inside an event. */
class StreamFaultsTest {
  private static final String TEXT = "one two three four five six seven eight";
  private static final String CHAT_STREAM =
      "{\"model\":\"m\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
  private static final String MESSAGES_STREAM =
      "{\"model\":\"c\",\"max_tokens\":100,\"stream\":true,"
          + "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";

  private static MockLlmServer server;
  private static HttpClient client;

  @BeforeAll
  static void start() {
    server = MockLlmServer.builder().defaultReply(Reply.text(TEXT)).start();
    client = Clients.client(server, HttpClient.Version.HTTP_1_1);
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  @Test
  void anthropicErrorEventFollowsHalfTheEventsAfterA200() {
    HttpResponse<String> r =
        send(
            client,
            messages(server, MESSAGES_STREAM)
                .header("x-mock-fault", "error-event-mid-stream")
                .build());
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.headers().firstValue("retry-after")).isEmpty();
    List<String[]> ev = events(r.body());
    String[] last = ev.get(ev.size() - 1);
    assertThat(last[0]).isEqualTo("error");
    JsonNode data = json(last[1]);
    assertThat(data.get("type").asText()).isEqualTo("error");
    assertThat(data.get("error").get("type").asText()).isEqualTo("overloaded_error");
    assertThat(data.get("error").get("message").asText()).isEqualTo("Overloaded");
    assertThat(ev)
        .extracting(e -> e[0])
        .contains("content_block_delta")
        .doesNotContain("message_stop");
  }

  @Test
  void openAiErrorChunkCarriesTheReplysErrorAndItsStatusAsCode() {
    server.enqueue(
        Reply.error(503).toBuilder().text(TEXT).fault(Fault.ERROR_EVENT_MID_STREAM).build());
    HttpResponse<String> r = send(client, chat(server, CHAT_STREAM).build());
    assertThat(r.statusCode()).isEqualTo(200);
    List<String[]> ev = events(r.body());
    JsonNode error = json(ev.get(ev.size() - 1)[1]).get("error");
    assertThat(error.get("type").asText()).isEqualTo("server_error");
    assertThat(error.get("code").asInt()).isEqualTo(503);
    assertThat(error.get("message").asText()).contains("overloaded");
    assertThat(ev).extracting(e -> e[1]).doesNotContain("[DONE]");
    assertThat(json(ev.get(1)[1]).get("choices").get(0).get("delta").get("content").asText())
        .isEqualTo("one");
  }

  @Test
  void aRateLimitErrorKeepsItsOwnCode() {
    server.enqueue(Reply.error(429).toBuilder().fault(Fault.ERROR_EVENT_MID_STREAM).build());
    HttpResponse<String> r = send(client, chat(server, CHAT_STREAM).build());
    assertThat(r.statusCode()).isEqualTo(200);
    List<String[]> ev = events(r.body());
    JsonNode error = json(ev.get(ev.size() - 1)[1]).get("error");
    assertThat(error.get("code").asText()).isEqualTo("rate_limit_exceeded");
  }

  @Test
  void withoutAStreamTheErrorEventFaultIsTheReplysStatus() {
    server.enqueue(Reply.error(529).toBuilder().fault(Fault.ERROR_EVENT_MID_STREAM).build());
    HttpResponse<String> r =
        send(
            client,
            messages(
                    server,
                    "{\"model\":\"c\",\"max_tokens\":100,"
                        + "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}")
                .build());
    assertThat(r.statusCode()).isEqualTo(529);
    assertThat(json(r.body()).get("error").get("type").asText()).isEqualTo("overloaded_error");
  }

  @Test
  void truncateMidEventEndsTheBodyInsideAnEvent() {
    for (String route : List.of("chat", "messages")) {
      HttpResponse<String> r =
          send(
              client,
              (route.equals("chat") ? chat(server, CHAT_STREAM) : messages(server, MESSAGES_STREAM))
                  .header("x-mock-fault", "truncate-mid-event")
                  .build());
      assertThat(r.statusCode()).as(route).isEqualTo(200);
      String body = r.body();
      assertThat(body).as(route).doesNotEndWith("\n\n").doesNotContain("[DONE]", "message_stop");
      assertThat(body).as(route).contains("\n\n");
    }
  }

  @Test
  void truncateMidEventLeavesAJsonAnswerWhole() {
    HttpResponse<String> r =
        send(
            client,
            chat(server, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}")
                .header("x-mock-fault", "truncate-mid-event")
                .build());
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(json(r.body()).get("choices").get(0).get("message").get("content").asText())
        .isEqualTo(TEXT);
  }
}
