package dev.llmpool.testkit;

import static dev.llmpool.testkit.Clients.CHAT;
import static dev.llmpool.testkit.Clients.MESSAGES;
import static dev.llmpool.testkit.Clients.chat;
import static dev.llmpool.testkit.Clients.events;
import static dev.llmpool.testkit.Clients.json;
import static dev.llmpool.testkit.Clients.messages;
import static dev.llmpool.testkit.Clients.send;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Replies come from the header, the queue, the rules, the default and the failure rate. */
class ScriptingTest {

  private static String content(HttpResponse<String> r) {
    return json(r.body()).get("choices").get(0).get("message").get("content").asText();
  }

  private static String chatWith(String prompt) {
    return "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"" + prompt + "\"}]}";
  }

  @Test
  void headerBeatsQueueBeatsRuleBeatsDefault() {
    try (MockLlmServer s =
        MockLlmServer.builder()
            .defaultReply(Reply.text("default"))
            .rule(r -> r.prompt().contains("rule"), Reply.text("by rule"))
            .start()) {
      HttpClient c = Clients.client(s, HttpClient.Version.HTTP_1_1);
      s.enqueue(Reply.text("queued"));
      assertThat(
              send(c, chat(s, chatWith("rule")).header("x-mock-fault", "503").build()).statusCode())
          .isEqualTo(503);
      assertThat(content(send(c, chat(s, chatWith("rule")).build()))).isEqualTo("queued");
      assertThat(content(send(c, chat(s, chatWith("rule")).build()))).isEqualTo("by rule");
      assertThat(content(send(c, chat(s, chatWith("other")).build()))).isEqualTo("default");
    }
  }

  @Test
  void queuedRepliesAreTakenInOrder() {
    try (MockLlmServer s = MockLlmServer.builder().start()) {
      HttpClient c = Clients.client(s, HttpClient.Version.HTTP_1_1);
      s.enqueue(Reply.text("one"), Reply.error(500), Reply.text("three"));
      assertThat(content(send(c, chat(s, CHAT).build()))).isEqualTo("one");
      assertThat(send(c, chat(s, CHAT).build()).statusCode()).isEqualTo(500);
      assertThat(content(send(c, chat(s, CHAT).build()))).isEqualTo("three");
      assertThat(content(send(c, chat(s, CHAT).build()))).isEqualTo("Mock reply to: hi");
      assertThat(s.queuedReplies()).isZero();
    }
  }

  @Test
  void replyCanBeDerivedFromThePrompt() {
    try (MockLlmServer s =
        MockLlmServer.builder()
            .defaultReply(Reply.fromPrompt(p -> p.toUpperCase(java.util.Locale.ROOT)))
            .start()) {
      HttpClient c = Clients.client(s, HttpClient.Version.HTTP_1_1);
      assertThat(content(send(c, chat(s, chatWith("shout this")).build()))).isEqualTo("SHOUT THIS");
    }
  }

  @Test
  void rateLimitedReplyCarriesRetryAfterInSecondsAndMilliseconds() {
    try (MockLlmServer s = MockLlmServer.builder().start()) {
      HttpClient c = Clients.client(s, HttpClient.Version.HTTP_1_1);
      s.enqueue(
          Reply.error(429),
          Reply.error(429).toBuilder().retryAfter(Duration.ofMillis(1500)).build());
      HttpResponse<String> first = send(c, chat(s, CHAT).build());
      assertThat(first.statusCode()).isEqualTo(429);
      assertThat(first.headers().firstValue("retry-after")).hasValue("1");
      assertThat(first.headers().firstValue("retry-after-ms")).hasValue("1000");
      assertThat(first.headers().firstValue("x-ratelimit-remaining-requests")).hasValue("0");
      JsonNode e = json(first.body()).get("error");
      assertThat(e.get("type").asText()).isEqualTo("requests");
      assertThat(e.get("code").asText()).isEqualTo("rate_limit_exceeded");
      HttpResponse<String> second = send(c, chat(s, CHAT).build());
      assertThat(second.headers().firstValue("retry-after")).hasValue("2");
      assertThat(second.headers().firstValue("retry-after-ms")).hasValue("1500");
    }
  }

  @Test
  void serverErrorsHaveEachProvidersShape() {
    try (MockLlmServer s = MockLlmServer.builder().start()) {
      HttpClient c = Clients.client(s, HttpClient.Version.HTTP_1_1);
      for (int status : List.of(500, 503, 529)) {
        HttpResponse<String> o =
            send(c, chat(s, CHAT).header("x-mock-fault", Integer.toString(status)).build());
        assertThat(o.statusCode()).isEqualTo(status);
        assertThat(json(o.body()).get("error").get("type").asText()).isEqualTo("server_error");
        HttpResponse<String> a =
            send(c, messages(s, MESSAGES).header("x-mock-fault", Integer.toString(status)).build());
        assertThat(a.statusCode()).isEqualTo(status);
        assertThat(json(a.body()).get("error").get("type").asText())
            .isEqualTo(status == 529 ? "overloaded_error" : "api_error");
      }
      HttpResponse<String> limited =
          send(c, messages(s, MESSAGES).header("x-mock-fault", "429; retry-after=3s").build());
      assertThat(json(limited.body()).get("error").get("type").asText())
          .isEqualTo("rate_limit_error");
      assertThat(limited.headers().firstValue("retry-after")).hasValue("3");
      assertThat(limited.headers().firstValue("anthropic-ratelimit-requests-remaining"))
          .hasValue("0");
    }
  }

  @Test
  void failureRateIsTheSameSequenceForTheSameSeed() {
    List<Integer> first = statuses(42);
    List<Integer> again = statuses(42);
    assertThat(again).isEqualTo(first);
    assertThat(first).contains(200, 503); // 30 draws at 50%: both outcomes (fixed seed, so stable)
    assertThat(statuses(7)).isNotEqualTo(first);
  }

  private static List<Integer> statuses(long seed) {
    List<Integer> out = new ArrayList<>();
    try (MockLlmServer s =
        MockLlmServer.builder().failureRate(0.5, seed, Reply.error(503)).start()) {
      HttpClient c = Clients.client(s, HttpClient.Version.HTTP_1_1);
      for (int i = 0; i < 30; i++) {
        out.add(send(c, chat(s, CHAT).build()).statusCode());
      }
    }
    return out;
  }

  @Test
  void latencyDelaysTheHeadersAtLeastThatLong() {
    try (MockLlmServer s = MockLlmServer.builder().start()) {
      HttpClient c = Clients.client(s, HttpClient.Version.HTTP_1_1);
      send(c, chat(s, CHAT).build()); // warm up the connection
      long t0 = System.nanoTime();
      HttpResponse<String> r =
          send(c, chat(s, CHAT).header("x-mock-fault", "none; latency=150ms").build());
      long elapsed = System.nanoTime() - t0;
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(Duration.ofNanos(elapsed)).isGreaterThanOrEqualTo(Duration.ofMillis(150));
    }
  }

  @Test
  void tokensPerSecondPacesTheStream() {
    try (MockLlmServer s =
        MockLlmServer.builder()
            .defaultReply(Reply.text("a b c d e f").toBuilder().tokensPerSecond(50).build())
            .start()) {
      HttpClient c = Clients.client(s, HttpClient.Version.HTTP_1_1);
      String body =
          "{\"model\":\"m\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}";
      long t0 = System.nanoTime();
      HttpResponse<String> r = send(c, chat(s, body).build());
      long elapsed = System.nanoTime() - t0;
      assertThat(events(r.body())).hasSize(1 + 6 + 1 + 1);
      // six tokens: five gaps of 20 ms at least
      assertThat(Duration.ofNanos(elapsed)).isGreaterThanOrEqualTo(Duration.ofMillis(100));
    }
  }

  @Test
  void extraHeadersAreSent() {
    try (MockLlmServer s =
        MockLlmServer.builder()
            .defaultReply(Reply.builder().header("X-Custom", "yes").build())
            .start()) {
      HttpClient c = Clients.client(s, HttpClient.Version.HTTP_1_1);
      assertThat(send(c, chat(s, CHAT).build()).headers().firstValue("x-custom")).hasValue("yes");
    }
  }

  @Test
  void aThrowingRuleIsA500NotADroppedConnection() {
    try (MockLlmServer s =
        MockLlmServer.builder()
            .rule(
                r -> {
                  throw new IllegalStateException("boom");
                },
                Reply.text("never"))
            .start()) {
      HttpClient c = Clients.client(s, HttpClient.Version.HTTP_1_1);
      HttpResponse<String> r = send(c, chat(s, CHAT).build());
      assertThat(r.statusCode()).isEqualTo(500);
      assertThat(json(r.body()).get("error").get("message").asText()).contains("boom");
    }
  }

  @Test
  void recordedRequestsKeepWhatTheServerSaw() {
    try (MockLlmServer s = MockLlmServer.builder().start()) {
      HttpClient c = Clients.client(s, HttpClient.Version.HTTP_1_1);
      send(c, chat(s, chatWith("first")).header("x-trace", "1").build());
      send(c, chat(s, chatWith("second")).build());
      RecordedRequest a = s.takeRequest();
      RecordedRequest b = s.takeRequest();
      assertThat(a.method()).isEqualTo("POST");
      assertThat(a.path()).isEqualTo("/v1/chat/completions");
      assertThat(a.header("X-Trace")).isEqualTo("1");
      assertThat(a.header("authorization")).isEqualTo("Bearer test-key");
      assertThat(a.bodyUtf8()).isEqualTo(chatWith("first"));
      assertThat(a.prompt()).isEqualTo("first");
      assertThat(a.model()).isEqualTo("m");
      assertThat(a.protocol()).isEqualTo(Protocol.HTTP_1_1);
      assertThat(a.tls()).isFalse();
      assertThat(a.streamId()).isZero();
      assertThat(a.sequenceOnConnection()).isEqualTo(1);
      assertThat(b.sequenceOnConnection()).isEqualTo(2);
      assertThat(b.connectionId()).isEqualTo(a.connectionId());
      assertThat(a.requestId()).isNotEqualTo(b.requestId());
      assertThat(a.reply()).isNotNull();
      assertThat(s.requests())
          .extracting(RecordedRequest::prompt)
          .containsExactly("first", "second");
      assertThat(s.pollRequest(Duration.ofMillis(1))).isNull();
      assertThat(a.toString()).contains("authorization=[redacted]").doesNotContain("test-key");
    }
  }

  @Test
  void requestLogKeepsTheLastN() {
    try (MockLlmServer s = MockLlmServer.builder().requestLogLimit(2).start()) {
      HttpClient c = Clients.client(s, HttpClient.Version.HTTP_1_1);
      for (String p : List.of("a", "b", "c")) {
        send(c, chat(s, chatWith(p)).build());
      }
      assertThat(s.requests()).extracting(RecordedRequest::prompt).containsExactly("b", "c");
      assertThat(s.requestCount()).isEqualTo(3);
    }
  }
}
