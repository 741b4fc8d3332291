package dev.llmpool.testkit;

import static dev.llmpool.testkit.Clients.CHAT;
import static dev.llmpool.testkit.Clients.chat;
import static dev.llmpool.testkit.Clients.events;
import static dev.llmpool.testkit.Clients.json;
import static dev.llmpool.testkit.Clients.send;
import static org.assertj.core.api.Assertions.assertThat;

import dev.llmpool.testkit.internal.Transports;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** One contract over every protocol the server speaks, as Jetty runs its client tests. */
class ProtocolsTest {

  enum Way {
    HTTP1_CLEARTEXT(false, Protocol.HTTP_1_1),
    H2C_PRIOR_KNOWLEDGE(false, Protocol.H2C),
    TLS_H2(true, Protocol.H2),
    TLS_HTTP1(true, Protocol.HTTP_1_1);

    final boolean tls;
    final Protocol protocol;

    Way(boolean tls, Protocol protocol) {
      this.tls = tls;
      this.protocol = protocol;
    }
  }

  /** Sends three chats on one connection and returns the last body. */
  private static String threeChats(MockLlmServer s, Way way, String body) {
    if (way == Way.H2C_PRIOR_KNOWLEDGE) {
      try (H2Client c = new H2Client(s)) {
        String last = null;
        for (int i = 0; i < 3; i++) {
          H2Client.Response r = c.chat(body, Map.of()).await();
          assertThat(r.status()).isEqualTo(200);
          assertThat(r.endStream).isTrue();
          last = r.bodyUtf8();
        }
        return last;
      }
    }
    HttpClient client =
        Clients.client(
            s, way == Way.TLS_H2 ? HttpClient.Version.HTTP_2 : HttpClient.Version.HTTP_1_1);
    String last = null;
    for (int i = 0; i < 3; i++) {
      HttpResponse<String> r = send(client, chat(s, body).build());
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.version())
          .isEqualTo(way == Way.TLS_H2 ? HttpClient.Version.HTTP_2 : HttpClient.Version.HTTP_1_1);
      last = r.body();
    }
    return last;
  }

  @ParameterizedTest
  @EnumSource(Way.class)
  void servesChatOnOneKeptAliveConnection(Way way) {
    try (MockLlmServer s =
        MockLlmServer.builder().tls(way.tls).http1Only(way == Way.TLS_HTTP1).start()) {
      String body = threeChats(s, way, CHAT);
      assertThat(json(body).get("object").asText()).isEqualTo("chat.completion");

      MockServerStats stats = s.stats();
      assertThat(stats.connectionsAccepted()).isEqualTo(1);
      assertThat(stats.requestsServed()).isEqualTo(3);
      assertThat(stats.tlsHandshakesCompleted()).isEqualTo(way.tls ? 1 : 0);
      assertThat(stats.requestsPerConnection()).containsExactly(Map.entry(1L, 3));
      assertThat(stats.bytesIn()).isPositive();
      assertThat(stats.bytesOut()).isGreaterThan(3L * body.length());
      ConnectionStats conn = stats.connections().get(0);
      assertThat(conn.protocol()).isEqualTo(way.protocol);
      assertThat(conn.tls()).isEqualTo(way.tls);
      assertThat(conn.peakConcurrentStreams()).isEqualTo(1);

      for (RecordedRequest r : s.requests()) {
        assertThat(r.protocol()).isEqualTo(way.protocol);
        assertThat(r.tls()).isEqualTo(way.tls);
        assertThat(r.connectionId()).isEqualTo(conn.id());
        if (way.protocol == Protocol.HTTP_1_1) {
          assertThat(r.streamId()).isZero();
        } else {
          assertThat(r.streamId()).isOdd();
        }
      }
    }
  }

  @ParameterizedTest
  @EnumSource(Way.class)
  void streams(Way way) {
    try (MockLlmServer s =
        MockLlmServer.builder().tls(way.tls).http1Only(way == Way.TLS_HTTP1).start()) {
      String body =
          threeChats(
              s,
              way,
              "{\"model\":\"m\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
      assertThat(events(body).get(events(body).size() - 1)[1]).isEqualTo("[DONE]");
    }
  }

  @Test
  void http1OnlyOffersOnlyHttp1OverAlpn() {
    try (MockLlmServer s = MockLlmServer.builder().tls(true).http1Only(true).start()) {
      HttpResponse<String> r =
          send(Clients.client(s, HttpClient.Version.HTTP_2), chat(s, CHAT).build());
      assertThat(r.version()).isEqualTo(HttpClient.Version.HTTP_1_1);
    }
  }

  @Test
  void http1OnlyAnswersThePrefaceAsABadRequest() throws Exception {
    try (MockLlmServer s = MockLlmServer.builder().http1Only(true).start();
        RawSocket raw = new RawSocket(s.port())) {
      raw.write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
      assertThat(raw.readAll()).startsWith("HTTP/1.1 505");
    }
  }

  @Test
  void servesOnNioToo() {
    try (MockLlmServer s =
        MockLlmServer.builder().tls(true).transport(Transports.Transport.NIO).start()) {
      assertThat(threeChats(s, Way.TLS_H2, CHAT)).contains("chat.completion");
      assertThat(threeChats(s, Way.TLS_HTTP1, CHAT)).contains("chat.completion");
    }
  }
}
