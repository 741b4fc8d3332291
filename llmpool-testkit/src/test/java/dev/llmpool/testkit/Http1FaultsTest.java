package dev.llmpool.testkit;

import static dev.llmpool.testkit.Clients.CHAT;
import static dev.llmpool.testkit.Clients.chat;
import static dev.llmpool.testkit.Clients.send;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.SocketException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** HTTP/1.1 faults and connection policies, seen on raw sockets where a client would hide them. */
class Http1FaultsTest {
  private static final String STREAM =
      "{\"model\":\"m\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"one two three four\"}]}";

  /** A raw HTTP/1.1 chat request. */
  private static String request(String body, Map<String, String> headers) {
    StringBuilder s =
        new StringBuilder("POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            .append("Authorization: Bearer k\r\nContent-Type: application/json\r\n")
            .append("Content-Length: ")
            .append(body.length())
            .append("\r\n");
    headers.forEach((k, v) -> s.append(k).append(": ").append(v).append("\r\n"));
    return s.append("\r\n").append(body).toString();
  }

  private static Map<String, String> fault(Fault f) {
    return Map.of("x-mock-fault", f.headerValue());
  }

  private static long contentLength(String response) {
    Matcher m = Pattern.compile("(?i)content-length: (\\d+)").matcher(response);
    assertThat(m.find()).as("content-length in %s", response).isTrue();
    return Long.parseLong(m.group(1));
  }

  private static String body(String response) {
    return response.substring(response.indexOf("\r\n\r\n") + 4);
  }

  @Test
  void maxRequestsPerConnectionAnnouncesTheCloseOnTheLastResponse() throws IOException {
    try (MockLlmServer s = MockLlmServer.builder().maxRequestsPerConnection(2).start();
        RawSocket raw = new RawSocket(s.port())) {
      raw.write(request(CHAT, Map.of()) + request(CHAT, Map.of()));
      String both = raw.readAll(); // EOF after the second response
      assertThat(both.split("HTTP/1.1 200", -1)).hasSize(3);
      String second = both.substring(both.lastIndexOf("HTTP/1.1 200"));
      assertThat(second).containsIgnoringCase("connection: close");
      assertThat(both.substring(0, both.lastIndexOf("HTTP/1.1 200")))
          .doesNotContainIgnoringCase("connection: close");
    }
  }

  @Test
  void aClientOpensANewConnectionAfterTheLimit() {
    try (MockLlmServer s = MockLlmServer.builder().maxRequestsPerConnection(2).start()) {
      HttpClient c = Clients.client(s, HttpClient.Version.HTTP_1_1);
      for (int i = 0; i < 3; i++) {
        assertThat(send(c, chat(s, CHAT).build()).statusCode()).isEqualTo(200);
      }
      assertThat(s.stats().requestsPerConnection().values()).containsExactly(2, 1);
    }
  }

  @Test
  void idleConnectionsAreClosedWithoutConnectionClose() throws IOException {
    try (MockLlmServer s = MockLlmServer.builder().closeIdleAfter(Duration.ofMillis(100)).start();
        RawSocket raw = new RawSocket(s.port())) {
      raw.write(request(CHAT, Map.of()));
      String r = raw.readAll(); // returns at EOF: the idle close
      assertThat(r).startsWith("HTTP/1.1 200").doesNotContainIgnoringCase("connection: close");
      assertThat(body(r)).hasSize((int) contentLength(r));
      s.awaitStats(st -> st.connectionsOpen() == 0, Duration.ofSeconds(10));
    }
  }

  @Test
  void aConnectionThatNeverSendsARequestIsClosedWhenIdleToo() throws IOException {
    try (MockLlmServer s = MockLlmServer.builder().closeIdleAfter(Duration.ofMillis(50)).start();
        RawSocket raw = new RawSocket(s.port())) {
      assertThat(raw.readAll()).isEmpty();
    }
  }

  @Test
  void truncatedBodyClosesBeforeContentLengthBytes() throws IOException {
    try (MockLlmServer s = MockLlmServer.builder().start();
        RawSocket raw = new RawSocket(s.port())) {
      raw.write(request(CHAT, fault(Fault.TRUNCATE_BODY)));
      String r = raw.readAll();
      assertThat(r).startsWith("HTTP/1.1 200");
      assertThat((long) body(r).length()).isPositive().isLessThan(contentLength(r));
    }
  }

  @Test
  void closeMidBodyEndsAChunkedStreamWithoutItsLastChunk() throws IOException {
    try (MockLlmServer s = MockLlmServer.builder().start();
        RawSocket raw = new RawSocket(s.port())) {
      raw.write(request(STREAM, fault(Fault.CLOSE_CONNECTION_MID_BODY)));
      String r = raw.readAll();
      assertThat(r).containsIgnoringCase("transfer-encoding: chunked").contains("data: ");
      assertThat(r).doesNotContain("[DONE]").doesNotEndWith("0\r\n\r\n");
    }
  }

  @Test
  void resetsMidBodyAreTcpResets() throws IOException {
    for (Fault f : new Fault[] {Fault.RESET_STREAM_MID_BODY, Fault.RESET_CONNECTION_MID_BODY}) {
      try (MockLlmServer s = MockLlmServer.builder().start();
          RawSocket raw = new RawSocket(s.port())) {
        raw.write(request(STREAM, fault(f)));
        assertThatThrownBy(raw::readAll).as(f.name()).isInstanceOf(SocketException.class);
      }
    }
  }

  @Test
  void garbageIsNotHttpAndThenEof() throws IOException {
    try (MockLlmServer s = MockLlmServer.builder().start();
        RawSocket raw = new RawSocket(s.port())) {
      raw.write(request(CHAT, fault(Fault.GARBAGE)));
      String r = raw.readAll();
      assertThat(r).doesNotStartWith("HTTP/").contains("this is not HTTP");
    }
    try (MockLlmServer s = MockLlmServer.builder().start()) {
      HttpRequest req = chat(s, CHAT).header("x-mock-fault", "garbage").build();
      assertThatThrownBy(
              () ->
                  Clients.client(s, HttpClient.Version.HTTP_1_1)
                      .send(req, HttpResponse.BodyHandlers.ofString()))
          .isInstanceOf(IOException.class);
    }
  }

  @Test
  void disconnectAfterRequestSendsNothing() throws IOException {
    try (MockLlmServer s = MockLlmServer.builder().start();
        RawSocket raw = new RawSocket(s.port())) {
      raw.write(request(CHAT, fault(Fault.DISCONNECT_AFTER_REQUEST)));
      assertThat(raw.readAll()).isEmpty();
      assertThat(s.takeRequest().prompt()).isEqualTo("hi"); // it may have been processed
    }
  }

  @Test
  void refuseStreamOnHttp1ClosesWithoutAResponse() throws IOException {
    try (MockLlmServer s = MockLlmServer.builder().start();
        RawSocket raw = new RawSocket(s.port())) {
      raw.write(request(CHAT, fault(Fault.REFUSE_STREAM)));
      assertThat(raw.readAll()).isEmpty();
    }
  }

  @Test
  void closeAfterResponseSendsAWholeKeepAliveResponseThenEof() throws IOException {
    try (MockLlmServer s = MockLlmServer.builder().start();
        RawSocket raw = new RawSocket(s.port())) {
      raw.write(request(CHAT, fault(Fault.CLOSE_AFTER_RESPONSE)));
      String r = raw.readAll();
      assertThat(r).startsWith("HTTP/1.1 200").doesNotContainIgnoringCase("connection: close");
      assertThat(body(r)).hasSize((int) contentLength(r));
    }
  }

  @Test
  void respondBeforeBodyAnswersAtTheHeadersAndClosesAfter() throws IOException {
    try (MockLlmServer s = MockLlmServer.builder().start();
        RawSocket raw = new RawSocket(s.port())) {
      raw.write(
          "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k\r\n"
              + "Content-Length: 1000000\r\nx-mock-fault: respond-before-body\r\n\r\n{\"model\":");
      String r = raw.readAll(); // the server half-closes after its response
      assertThat(r).startsWith("HTTP/1.1 200").containsIgnoringCase("connection: close");
      assertThat(body(r)).hasSize((int) contentLength(r));
      RecordedRequest seen = s.takeRequest();
      assertThat(seen.body()).isEmpty();
      assertThat(seen.reply().fault()).isEqualTo(Fault.RESPOND_BEFORE_BODY);
    }
  }

  @Test
  void stallSendsHeadersThenNothing() throws IOException {
    try (MockLlmServer s = MockLlmServer.builder().start();
        RawSocket raw = new RawSocket(s.port())) {
      raw.write(request(STREAM, fault(Fault.STALL_AFTER_HEADERS)));
      String head = raw.readUntil("\r\n\r\n");
      assertThat(head).startsWith("HTTP/1.1 200");
      assertThat(head.substring(head.indexOf("\r\n\r\n") + 4)).isEmpty();
      assertThat(raw.anyByteWithin(300)).isFalse();
    }
  }

  @Test
  void pipelinedRequestsAreAnsweredInOrder() throws IOException {
    try (MockLlmServer s = MockLlmServer.builder().start();
        RawSocket raw = new RawSocket(s.port())) {
      String slow = "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"first\"}]}";
      String fast = "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"second\"}]}";
      raw.write(
          request(slow, Map.of("x-mock-fault", "none; latency=100ms"))
              + request(fast, Map.of("Connection", "close")));
      String r = raw.readAll();
      assertThat(r.indexOf("Mock reply to: first")).isLessThan(r.indexOf("Mock reply to: second"));
      assertThat(r.indexOf("Mock reply to: first")).isNotNegative();
    }
  }

  @Test
  void expectContinueGetsA100BeforeTheBody() throws IOException {
    try (MockLlmServer s = MockLlmServer.builder().start();
        RawSocket raw = new RawSocket(s.port())) {
      raw.write(
          "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k\r\n"
              + "Expect: 100-continue\r\nContent-Length: "
              + CHAT.length()
              + "\r\n\r\n");
      assertThat(raw.readUntil("\r\n\r\n")).startsWith("HTTP/1.1 100 Continue");
      raw.write(CHAT + "");
      raw.socket.shutdownOutput();
      assertThat(raw.readAll()).contains("HTTP/1.1 200");
    }
  }

  @Test
  void chunkedUploadOverTheLimitIs413AndTheConnectionCloses() throws IOException {
    try (MockLlmServer s = MockLlmServer.builder().maxRequestBodyBytes(100).start();
        RawSocket raw = new RawSocket(s.port())) {
      raw.write(
          "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k\r\n"
              + "Transfer-Encoding: chunked\r\n\r\n80\r\n"
              + "x".repeat(128)
              + "\r\n");
      String r = raw.readAll();
      assertThat(r).startsWith("HTTP/1.1 413").containsIgnoringCase("connection: close");
    }
  }

  @Test
  void clientConnectionCloseIsHonoured() throws IOException {
    try (MockLlmServer s = MockLlmServer.builder().start();
        RawSocket raw = new RawSocket(s.port())) {
      raw.write(request(CHAT, Map.of("Connection", "close")));
      assertThat(raw.readAll())
          .startsWith("HTTP/1.1 200")
          .containsIgnoringCase("connection: close");
    }
  }
}
