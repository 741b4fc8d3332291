package dev.llmpool.testkit;

import static dev.llmpool.testkit.Clients.CHAT;
import static dev.llmpool.testkit.Clients.chat;
import static dev.llmpool.testkit.Clients.send;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * The server survives garbage, oversized input and clients that vanish, keeps serving the others,
 * and leaves nothing behind when closed.
 */
class RobustnessTest {

  private static void assertStillServes(MockLlmServer s) {
    HttpClient c =
        Clients.client(s, s.tls() ? HttpClient.Version.HTTP_2 : HttpClient.Version.HTTP_1_1);
    assertThat(send(c, chat(s, CHAT).build()).statusCode()).isEqualTo(200);
  }

  @Test
  void garbageFromAClientGetsA400AndOthersAreStillServed() throws IOException {
    try (MockLlmServer s = MockLlmServer.builder().start()) {
      try (RawSocket raw = new RawSocket(s.port())) {
        raw.write(new byte[] {0x16, 0x03, 0x01, 0x00, (byte) 0xff, 0x0d, 0x0a, 0x0d, 0x0a});
        assertThat(raw.readAll()).startsWith("HTTP/1.1 400");
      }
      try (RawSocket raw = new RawSocket(s.port())) {
        raw.write("\r\n\r\nGARBAGE\u0000\u0001 / HTTP/9\r\n\r\n");
        assertThat(raw.readAll()).startsWith("HTTP/1.1 4");
      }
      assertStillServes(s);
      assertThat(s.requests()).hasSize(1); // garbage is not a request
    }
  }

  @Test
  void plainTextOnTheTlsPortIsDroppedAndOthersAreStillServed() throws IOException {
    try (MockLlmServer s = MockLlmServer.builder().tls(true).start()) {
      try (RawSocket raw = new RawSocket(s.port())) {
        raw.write("GET /v1/models HTTP/1.1\r\nHost: x\r\n\r\n");
        String r;
        try {
          r = raw.readAll();
        } catch (IOException reset) {
          r = "";
        }
        assertThat(r).doesNotContain("HTTP/1.1 200");
      }
      assertStillServes(s);
      assertThat(s.stats().tlsHandshakesCompleted()).isEqualTo(1);
    }
  }

  @Test
  void garbageOnH2cBreaksOnlyThatConnection() throws IOException {
    try (MockLlmServer s = MockLlmServer.builder().start()) {
      try (RawSocket raw = new RawSocket(s.port())) {
        raw.write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
        raw.write(new byte[] {0, 0, 4, 9, 9, 9, 9, 9, 9, 1, 2, 3, 4}); // not a SETTINGS frame
        String r;
        try {
          r = raw.readAll(); // the server's SETTINGS, maybe a GOAWAY, then EOF
        } catch (IOException reset) {
          r = "";
        }
        assertThat(r).doesNotContain("HTTP/1.1");
      }
      try (H2Client c = new H2Client(s)) {
        assertThat(c.chat(CHAT, Map.of()).await().status()).isEqualTo(200);
      }
    }
  }

  @Test
  void hugeHeadersAreRefusedWithoutHarm() throws IOException {
    try (MockLlmServer s = MockLlmServer.builder().start()) {
      try (RawSocket raw = new RawSocket(s.port())) {
        raw.write(
            "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nX-Huge: "
                + "a".repeat(1 << 20)
                + "\r\n\r\n");
        String r;
        try {
          r = raw.readAll();
        } catch (IOException reset) {
          r = "HTTP/1.1 431 (reset while we were still writing)";
        }
        assertThat(r).startsWith("HTTP/1.1 431");
      }
      try (RawSocket raw = new RawSocket(s.port())) {
        raw.write("GET /" + "a".repeat(20_000) + " HTTP/1.1\r\nHost: x\r\n\r\n");
        assertThat(raw.readAll()).startsWith("HTTP/1.1 414");
      }
      assertStillServes(s);
    }
  }

  @Test
  void hugeBodiesAreRefusedWithoutHarm() throws IOException {
    try (MockLlmServer s = MockLlmServer.builder().maxRequestBodyBytes(64 * 1024).start()) {
      try (RawSocket raw = new RawSocket(s.port())) {
        raw.write(
            "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k\r\n"
                + "Content-Length: 10000000000\r\n\r\n");
        assertThat(raw.readAll()).startsWith("HTTP/1.1 413");
      }
      HttpClient c = Clients.client(s, HttpClient.Version.HTTP_1_1);
      HttpResponse<String> r =
          send(
              c,
              HttpRequest.newBuilder(s.url("/v1/chat/completions"))
                  .header("authorization", "Bearer k")
                  .POST(HttpRequest.BodyPublishers.ofByteArray(new byte[1 << 20]))
                  .build());
      assertThat(r.statusCode()).isEqualTo(413);
      assertStillServes(s);
    }
  }

  @Test
  void clientsThatVanishMidRequestLeaveNoTrace() throws IOException {
    for (boolean tls : new boolean[] {false, true}) {
      try (MockLlmServer s = MockLlmServer.builder().tls(tls).start()) {
        if (!tls) {
          try (RawSocket raw = new RawSocket(s.port())) {
            raw.write(
                "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k\r\n"
                    + "Content-Length: 1000\r\n\r\n{\"model\":");
          }
          try (RawSocket raw = new RawSocket(s.port())) {
            raw.write("POST /v1/chat/compl");
          }
        }
        try (H2Client c = new H2Client(s)) {
          c.send(
              "POST",
              "/v1/chat/completions",
              Map.of("authorization", "Bearer k"),
              "{\"model\":".getBytes(StandardCharsets.UTF_8),
              false);
        }
        s.awaitStats(st -> st.connectionsOpen() == 0, Duration.ofSeconds(10));
        assertStillServes(s);
        assertThat(s.requests()).hasSize(1);
      }
    }
  }

  @Test
  void aClientThatLeavesMidStreamDoesNotStopTheServer() throws IOException {
    try (MockLlmServer s =
        MockLlmServer.builder()
            .defaultReply(Reply.text("a b c d e f g h").toBuilder().tokensPerSecond(100).build())
            .start()) {
      HttpClient c = Clients.client(s, HttpClient.Version.HTTP_1_1);
      String body =
          "{\"model\":\"m\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}";
      HttpResponse<InputStream> r;
      try {
        r = c.send(chat(s, body).build(), HttpResponse.BodyHandlers.ofInputStream());
      } catch (InterruptedException e) {
        throw new IllegalStateException(e);
      }
      try (InputStream in = r.body()) {
        assertThat(in.read()).isEqualTo('d'); // "data: ..." then we hang up
      }
      try (H2Client h2 = new H2Client(s)) {
        H2Client.Response half = h2.chat(body, Map.of());
        half.headersArrived.join();
      } // the H2 client goes away mid-stream too
      assertStillServes(s);
    }
  }

  @Test
  void manyServersRunSideBySideOnFreePorts() {
    List<MockLlmServer> servers = new ArrayList<>();
    try {
      for (int i = 0; i < 6; i++) {
        servers.add(MockLlmServer.builder().tls(i % 2 == 1).start());
      }
      assertThat(servers.stream().map(MockLlmServer::port).collect(Collectors.toSet())).hasSize(6);
      for (MockLlmServer s : servers) {
        assertStillServes(s);
        assertThat(s.stats().requestsServed()).isEqualTo(1);
      }
    } finally {
      servers.forEach(MockLlmServer::close);
    }
  }

  @Test
  void closeEndsEveryConnectionSoTheServerLooksVanished() throws Exception {
    MockLlmServer tls = MockLlmServer.builder().tls(true).start();
    MockLlmServer plain = MockLlmServer.builder().start();
    List<RawSocket> raws = new ArrayList<>();
    try (H2Client h2 = new H2Client(tls);
        H2Client h2c = new H2Client(plain)) {
      // TLS: one connection that never starts its handshake, one with half a ClientHello, and an
      // h2 connection with a stalled stream (headers sent, then nothing).
      raws.add(new RawSocket(tls.port()));
      RawSocket halfHello = new RawSocket(tls.port());
      halfHello.write(new byte[] {0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, (byte) 0xfc});
      raws.add(halfHello);
      H2Client.Response stalled = h2.chat(CHAT, Map.of("x-mock-fault", "stall-after-headers"));
      stalled.headersArrived.get(20, java.util.concurrent.TimeUnit.SECONDS);
      // Cleartext: an idle keep-alive HTTP/1.1 connection, half an HTTP/2 preface, and an h2c
      // connection between streams.
      RawSocket keepAlive = new RawSocket(plain.port());
      keepAlive.write("GET /v1/models HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k\r\n\r\n");
      assertThat(keepAlive.readUntil("\"data\"")).startsWith("HTTP/1.1 200");
      raws.add(keepAlive);
      RawSocket halfPreface = new RawSocket(plain.port());
      halfPreface.write("PRI * HTTP/2.0\r\n");
      raws.add(halfPreface);
      assertThat(h2c.chat(CHAT, Map.of()).await().status()).isEqualTo(200);
      tls.awaitStats(st -> st.connectionsOpen() == 3, Duration.ofSeconds(20));
      plain.awaitStats(st -> st.connectionsOpen() == 3, Duration.ofSeconds(20));

      tls.close();
      plain.close();

      // Every client sees its connection end (EOF or reset) at once, not a silent socket.
      for (RawSocket r : raws) {
        assertThat(endsWithinBound(r)).as("connection ended").isTrue();
      }
      h2.closed.get(20, java.util.concurrent.TimeUnit.SECONDS);
      h2c.closed.get(20, java.util.concurrent.TimeUnit.SECONDS);
      assertThat(stalled.await().endStream).as("the stalled stream never completed").isFalse();
    } finally {
      for (RawSocket r : raws) {
        r.close();
      }
      tls.close();
      plain.close();
    }
  }

  /** Reads until EOF or a reset; false when the connection stays open and silent for 20 s. */
  private static boolean endsWithinBound(RawSocket r) {
    try {
      r.readAll();
      return true;
    } catch (java.net.SocketTimeoutException silent) {
      return false;
    } catch (IOException reset) {
      return true;
    }
  }

  @Test
  void closeLeavesNoThreadBehind() throws InterruptedException {
    Set<Thread> before = Thread.getAllStackTraces().keySet();
    MockLlmServer s = MockLlmServer.builder().tls(true).eventLoopThreads(2).start();
    LatencyProxy p = LatencyProxy.builder().target(s.port()).rtt(Duration.ofMillis(2)).start();
    HttpClient c = Clients.client(s, HttpClient.Version.HTTP_2);
    assertThat(
            send(
                    c,
                    chat(s, CHAT)
                        .uri(Clients.uri("https://127.0.0.1:" + p.port() + "/v1/chat/completions"))
                        .build())
                .statusCode())
        .isEqualTo(200);
    List<Thread> ours =
        Thread.getAllStackTraces().keySet().stream()
            .filter(t -> !before.contains(t))
            .filter(t -> t.getName().startsWith("llmpool-"))
            .toList();
    assertThat(ours).isNotEmpty();
    p.close();
    s.close();
    for (Thread t : ours) {
      t.join(10_000);
      assertThat(t.isAlive()).as(t.getName()).isFalse();
    }
    assertThat(s.certificate().pemFile()).doesNotExist();
  }

  @Test
  void lifecycleMistakesAreClearErrors() {
    MockLlmServer s = MockLlmServer.builder().start();
    assertThatThrownBy(s::start)
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("already");
    try (MockLlmServer other = MockLlmServer.builder().port(s.port()).build()) {
      assertThatThrownBy(other::start)
          .isInstanceOf(UncheckedIOException.class)
          .hasMessageContaining("127.0.0.1:" + s.port());
    }
    s.close();
    s.close(); // idempotent
    assertThatThrownBy(s::start)
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("closed");
    assertThatThrownBy(() -> MockLlmServer.builder().build().certificate())
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("not a TLS server");
  }

  @Test
  void builderRejectsNonsense() {
    assertThatThrownBy(() -> MockLlmServer.builder().port(70000).build())
        .hasMessageContaining("port");
    assertThatThrownBy(() -> MockLlmServer.builder().failureRate(2, 1, Reply.error(500)).build())
        .hasMessageContaining("failureRate");
    assertThatThrownBy(() -> MockLlmServer.builder().closeIdleAfter(Duration.ZERO).build())
        .hasMessageContaining("closeIdleAfter");
    assertThatThrownBy(() -> MockLlmServer.builder().maxConcurrentStreams(0).build())
        .hasMessageContaining("maxConcurrentStreams");
    assertThatThrownBy(() -> MockLlmServer.builder().maxHeaderBytes(10).build())
        .hasMessageContaining("maxHeaderBytes");
    assertThatThrownBy(() -> LatencyProxy.builder().build()).hasMessageContaining("target");
    assertThatThrownBy(() -> LatencyProxy.builder().target(1).rtt(Duration.ofMillis(-1)).build())
        .hasMessageContaining("negative");
  }
}
