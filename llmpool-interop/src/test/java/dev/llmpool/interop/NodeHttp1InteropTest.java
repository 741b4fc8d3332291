package dev.llmpool.interop;

import static dev.llmpool.interop.Interop.assertNamesOrigin;
import static dev.llmpool.interop.Interop.assertQuiet;
import static dev.llmpool.interop.Interop.call;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.llmpool.ConnectionLostException;
import dev.llmpool.HttpProtocolException;
import dev.llmpool.LlmPool;
import dev.llmpool.LlmPoolException;
import dev.llmpool.Phase;
import dev.llmpool.PoolStats.CloseReason;
import dev.llmpool.ReadTimeoutException;
import dev.llmpool.TotalTimeoutException;
import dev.llmpool.http.HttpRequest;
import dev.llmpool.http.HttpResponse;
import dev.llmpool.interop.Interop.Outcome;
import dev.llmpool.interop.Interop.Proto;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * llmpool's HTTP/1.1 against a raw server (node's net module) that chooses every byte: framing edge
 * cases (HTTP/1.0 bodies to EOF, chunked trailers, 1xx, TE plus CL, HEAD/204/304 with lengths,
 * stray bytes), stalls, resets, closes, garbage, oversized heads, idle closes and Keep-Alive
 * timeouts, and what llmpool itself puts on the wire (request line, Host, header injection).
 */
@ExtendWith(SuiteChecks.class)
class NodeHttp1InteropTest {

  private static LlmPool.Builder poolFor(NodeServer server) {
    return Interop.pool(Proto.H1, server.baseUrl("http", "127.0.0.1"), null);
  }

  private static String origin(NodeServer server) {
    return server.baseUrl("http", "127.0.0.1");
  }

  // ---- Framing ----

  @Test
  void connectionCloseOnEveryResponseIsHonoured() {
    try (NodeServer server = NodeServer.h1();
        LlmPool pool = poolFor(server).build()) {
      for (int i = 0; i < 5; i++) {
        assertThat(call(pool, HttpRequest.get("/close")).response().bodyString()).isEqualTo("bye");
      }
      assertThat(server.connections()).isEqualTo(5);
      assertThat(pool.stats().closed(CloseReason.ERROR)).isZero();
      assertQuiet(pool);
    }
  }

  @Test
  void http10BodyWithoutLengthIsReadToTheEndOfTheConnection() {
    try (NodeServer server = NodeServer.h1();
        LlmPool pool = poolFor(server).build()) {
      HttpResponse r = call(pool, HttpRequest.get("/http10?n=300000")).response();
      assertThat(r.bodyLength()).isEqualTo(300_000);
      assertThat(call(pool, HttpRequest.get("/ok")).response().bodyString()).isEqualTo("ok");
      assertThat(server.connections()).isEqualTo(2);
      assertQuiet(pool);
    }
  }

  @Test
  void bodyToEndOfConnectionCutByAResetIsNotAComplete(/* RST is not a clean end */ ) {
    try (NodeServer server = NodeServer.h1();
        LlmPool pool = poolFor(server).build()) {
      Outcome o = call(pool, HttpRequest.get("/http10-rst"));
      NginxInteropTest.record("HTTP/1.0 body cut by RST: " + o);
      assertThat(o.ok()).as("a body truncated by a TCP reset: " + o).isFalse();
      assertThat(o.error()).isInstanceOf(ConnectionLostException.class);
      assertThat(o.error().requestMayHaveBeenProcessed()).isTrue();
      assertQuiet(pool);
    }
  }

  @Test
  void chunkedBodyWithExtensionsAndTrailersKeepsTheConnection() {
    try (NodeServer server = NodeServer.h1();
        LlmPool pool = poolFor(server).build()) {
      assertThat(call(pool, HttpRequest.get("/chunked-trailers")).response().bodyString())
          .isEqualTo("hello world");
      assertThat(call(pool, HttpRequest.get("/ok")).response().bodyString()).isEqualTo("ok");
      assertThat(server.connections()).isEqualTo(1);
      assertQuiet(pool);
    }
  }

  @Test
  void informationalResponsesAreSkipped() {
    try (NodeServer server = NodeServer.h1();
        LlmPool pool = poolFor(server).build()) {
      assertThat(call(pool, HttpRequest.get("/continue")).response().bodyString())
          .isEqualTo("final");
      assertThat(call(pool, HttpRequest.post("/continue").json("{}")).response().bodyString())
          .isEqualTo("final");
      assertThat(call(pool, HttpRequest.get("/ok")).response().bodyString()).isEqualTo("ok");
      assertThat(server.connections()).isEqualTo(1);
      assertQuiet(pool);
    }
  }

  @Test
  void switchingProtocolsIsAProtocolError() {
    try (NodeServer server = NodeServer.h1();
        LlmPool pool = poolFor(server).build()) {
      Outcome o = call(pool, HttpRequest.get("/switching"));
      assertThat(o.error()).isInstanceOf(HttpProtocolException.class);
      assertThat(o.error().requestMayHaveBeenProcessed()).isTrue();
      assertNamesOrigin(o.error(), origin(server));
      assertQuiet(pool);
    }
  }

  @Test
  void transferEncodingWithContentLengthIsChunkedAndNotReused() {
    try (NodeServer server = NodeServer.h1();
        LlmPool pool = poolFor(server).build()) {
      assertThat(call(pool, HttpRequest.get("/te-and-cl")).response().bodyString())
          .isEqualTo("hello");
      assertThat(call(pool, HttpRequest.get("/ok")).response().bodyString()).isEqualTo("ok");
      assertThat(server.connections())
          .as("a possible smuggling response retires its connection")
          .isEqualTo(2);
      assertQuiet(pool);
    }
  }

  @Test
  void conflictingContentLengthsAreAProtocolError() {
    try (NodeServer server = NodeServer.h1();
        LlmPool pool = poolFor(server).build()) {
      Outcome o = call(pool, HttpRequest.get("/cl-mismatch"));
      assertThat(o.error()).isInstanceOf(HttpProtocolException.class);
      assertThat(server.requestsOf(o.id())).hasSize(1);
      assertQuiet(pool);
    }
  }

  @Test
  void headAnd204And304CarryNoBodyWhateverTheirLength() {
    try (NodeServer server = NodeServer.h1();
        LlmPool pool = poolFor(server).maxResponseBodySize(1024 * 1024).build()) {
      HttpResponse head = call(pool, HttpRequest.builder("HEAD", "/head")).response();
      assertThat(head.status()).isEqualTo(200);
      assertThat(head.bodyLength()).isZero();
      assertThat(head.header("content-length")).isEqualTo("100000000");
      assertThat(call(pool, HttpRequest.get("/204-with-length")).response().status())
          .isEqualTo(204);
      HttpResponse notModified = call(pool, HttpRequest.get("/304")).response();
      assertThat(notModified.status()).isEqualTo(304);
      assertThat(notModified.bodyLength()).isZero();
      assertThat(call(pool, HttpRequest.get("/ok")).response().bodyString()).isEqualTo("ok");
      assertThat(server.connections()).isEqualTo(1);
      assertQuiet(pool);
    }
  }

  @Test
  void bytesAfterTheBodyRetireTheConnection() {
    try (NodeServer server = NodeServer.h1();
        LlmPool pool = poolFor(server).build()) {
      assertThat(call(pool, HttpRequest.get("/extra-bytes")).response().bodyString())
          .isEqualTo("ok");
      assertThat(call(pool, HttpRequest.get("/ok")).response().bodyString()).isEqualTo("ok");
      assertThat(server.connections()).isEqualTo(2);
      assertQuiet(pool);
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"/no-reason", "/lf-only", "/folded", "/many-headers"})
  void tolerableHeadsAreAccepted(String path) {
    try (NodeServer server = NodeServer.h1();
        LlmPool pool = poolFor(server).build()) {
      assertThat(call(pool, HttpRequest.get(path)).response().bodyString()).isEqualTo("ok");
      assertThat(call(pool, HttpRequest.get("/ok")).response().bodyString()).isEqualTo("ok");
      assertThat(server.connections()).isEqualTo(1);
      assertQuiet(pool);
    }
  }

  @Test
  void oversizedResponseHeadIsAProtocolError() {
    try (NodeServer server = NodeServer.h1();
        LlmPool pool = poolFor(server).build()) {
      Outcome o = call(pool, HttpRequest.get("/big-header?kb=70"));
      assertThat(o.error()).isInstanceOf(HttpProtocolException.class);
      assertThat(o.error().requestMayHaveBeenProcessed()).isTrue();
      assertThat(o.error().phase()).isEqualTo(Phase.PROTOCOL);
      assertThat(call(pool, HttpRequest.get("/ok")).response().bodyString()).isEqualTo("ok");
      assertQuiet(pool);
    }
  }

  // ---- Failures after the request: never re-sent ----

  @ParameterizedTest
  @ValueSource(
      strings = {"/garbage", "/rst-midbody", "/close-before-response", "/rst-before-response"})
  void failureAfterTheRequestIsReportedNotResent(String path) {
    try (NodeServer server = NodeServer.h1();
        LlmPool pool = poolFor(server).build()) {
      Outcome o = call(pool, HttpRequest.post(path).json("{\"prompt\":\"costs money\"}"));
      LlmPoolException e = o.error();
      assertThat(e).isInstanceOfAny(HttpProtocolException.class, ConnectionLostException.class);
      assertThat(e.requestMayHaveBeenProcessed()).isTrue();
      assertNamesOrigin(e, origin(server));
      assertThat(server.requestsOf(o.id())).as("sent once").hasSize(1);
      assertThat(call(pool, HttpRequest.get("/ok")).response().bodyString()).isEqualTo("ok");
      assertQuiet(pool);
    }
  }

  @Test
  void stallMidBodyEndsWithReadTimeout() {
    try (NodeServer server = NodeServer.h1();
        LlmPool pool =
            poolFor(server)
                .timeouts(Interop.timeouts().read(Duration.ofSeconds(1)).build())
                .build()) {
      Outcome o = call(pool, HttpRequest.get("/stall"));
      assertThat(o.error()).isInstanceOf(ReadTimeoutException.class);
      assertThat(o.error().phase()).isEqualTo(Phase.READ);
      assertThat(o.error().requestMayHaveBeenProcessed()).isTrue();
      assertNamesOrigin(o.error(), origin(server));
      assertThat(server.requestsOf(o.id())).hasSize(1);
      assertQuiet(pool);
    }
  }

  @Test
  void headDrippedByteByByteEndsAtTheTotalTimeout() {
    try (NodeServer server = NodeServer.h1();
        LlmPool pool =
            poolFor(server)
                .timeouts(Interop.timeouts().read(Duration.ofSeconds(1)).build())
                .build()) {
      Outcome o = call(pool, HttpRequest.get("/slow-head").timeout(Duration.ofSeconds(2)));
      assertThat(o.error()).isInstanceOf(TotalTimeoutException.class);
      assertThat(o.error().requestMayHaveBeenProcessed()).isTrue();
      assertNamesOrigin(o.error(), origin(server));
      assertQuiet(pool);
    }
  }

  @Test
  void serverRejectingAnUploadEarlyIsAnsweredNotRepeated() {
    // The server answers 413 and closes without reading the 8 MiB body.
    try (NodeServer server = NodeServer.h1();
        LlmPool pool = poolFor(server).build()) {
      byte[] body = new byte[8 * 1024 * 1024];
      new Random(3).nextBytes(body);
      Outcome o =
          call(pool, HttpRequest.post("/reject-early").body(body, "application/octet-stream"));
      NginxInteropTest.record(
          "413 + close while uploading 8 MiB: "
              + o
              + "; server saw the request "
              + server.requestsOf(o.id()).size()
              + " time(s)");
      if (o.ok()) {
        assertThat(o.response().status()).isEqualTo(413);
      } else {
        assertNamesOrigin(o.error(), origin(server));
      }
      assertQuiet(pool);
    }
  }

  @Test
  void requestWrittenAsTheServerClosesIsReportedNotResent() {
    // The server answers with keep-alive and closes 200 ms later without reading what came in
    // between (an nginx worker exiting on reload does this within a millisecond). The next call
    // goes out on that connection: llmpool cannot prove the server did not read it, so it must
    // not re-send it, and says so. Finding 5 measures how often this happens against nginx.
    try (NodeServer server = NodeServer.h1();
        LlmPool pool = poolFor(server).build()) {
      assertThat(call(pool, HttpRequest.get("/keepalive-then-close?ms=200")).ok()).isTrue();
      Outcome o = call(pool, HttpRequest.post("/ok").json("{\"prompt\":\"costs money\"}"));
      LlmPoolException e = o.error();
      assertThat(e).isInstanceOf(ConnectionLostException.class);
      assertThat(e.requestMayHaveBeenProcessed()).isTrue();
      assertThat(e.getMessage()).contains("after the request was sent, before any response");
      assertThat(server.requestsOf(o.id())).as("the server never read it").isEmpty();
      assertThat(call(pool, HttpRequest.get("/ok")).response().bodyString()).isEqualTo("ok");
      assertQuiet(pool);
    }
  }

  @Test
  void announcedContentLengthDoesNotReserveMemory() {
    // 16 calls to a server that announces a 60 MB body, sends 10 bytes and stalls.
    try (NodeServer server = NodeServer.h1();
        LlmPool pool =
            poolFor(server)
                .timeouts(Interop.timeouts().read(Duration.ofSeconds(30)).build())
                .build()) {
      long held = Interop.heapHeldByAnnouncedBodies(pool, server, "/announce?n=60000000", 16);
      NginxInteropTest.record(
          "HTTP/1.1"
              + ": heap held by 16 calls announcing 60 MB each: "
              + held / (1024 * 1024)
              + " MiB");
      assertThat(held / (1024 * 1024))
          .as("MiB of heap held while 16 calls wait for 10 bytes of body each")
          .isLessThan(256);
      assertQuiet(pool);
    }
  }

  // ---- Idle connections ----

  @ParameterizedTest
  @ValueSource(booleans = {false, true})
  void connectionTheServerClosedWhileIdleIsNotReused(boolean reset) {
    try (NodeServer server = NodeServer.h1();
        LlmPool pool = poolFor(server).build()) {
      assertThat(call(pool, HttpRequest.get("/idle-close?ms=200&rst=" + (reset ? 1 : 0))).ok())
          .isTrue();
      Interop.until(
          "the server's idle close was seen",
          Duration.ofSeconds(10),
          () -> pool.stats().closed() == 1);
      assertThat(call(pool, HttpRequest.get("/ok")).response().bodyString()).isEqualTo("ok");
      assertThat(server.connections()).isEqualTo(2);
      assertQuiet(pool);
    }
  }

  @Test
  void keepAliveTimeoutHeaderRetiresTheConnectionBeforeTheServer() {
    try (NodeServer server = NodeServer.h1();
        LlmPool pool = poolFor(server).build()) {
      assertThat(call(pool, HttpRequest.get("/keep-alive-timeout?s=2")).ok()).isTrue();
      Interop.until(
          "the idle connection was retired",
          Duration.ofSeconds(10),
          () -> pool.stats().closed() == 1);
      assertThat(pool.stats().closed(CloseReason.IDLE_EXPIRED))
          .as(pool.stats().toString())
          .isEqualTo(1);
      assertQuiet(pool);
    }
  }

  // ---- What llmpool puts on the wire ----

  @Test
  void requestLineIsOriginFormAndHostCarriesThePort() {
    try (NodeServer server = NodeServer.h1();
        LlmPool pool = poolFor(server).build()) {
      String absolute = origin(server) + "/head-echo?q=1&r=%20";
      String head = call(pool, HttpRequest.get(absolute)).response().bodyString();
      assertThat(head).startsWith("GET /head-echo?q=1&r=%20 HTTP/1.1\r\n");
      assertThat(head).contains("\r\nHost: 127.0.0.1:" + server.port + "\r\n");
      assertThat(head).contains("\r\nAuthorization: Bearer " + Interop.TOKEN + "\r\n");
      assertThat(head).contains("\r\nUser-Agent: llmpool/");
      String relative = call(pool, HttpRequest.get("head-echo")).response().bodyString();
      assertThat(relative).startsWith("GET /head-echo HTTP/1.1\r\n");
      assertQuiet(pool);
    }
  }

  @Test
  void nonAsciiInAnAbsoluteUrlIsEncodedOrRefused() {
    // Relative paths with non-ASCII characters are refused ("percent-encode it"); absolute URLs,
    // which java.net.URI accepts, are sent percent-encoded as UTF-8 (finding 9, fixed).
    try (NodeServer server = NodeServer.h1();
        LlmPool pool = poolFor(server).build()) {
      HttpRequest.Builder req = HttpRequest.get(origin(server) + "/head-echo?q=caf\u00e9");
      String head = call(pool, req).response().bodyString();
      String requestLine = head.substring(0, head.indexOf("\r\n"));
      NginxInteropTest.record(
          "absolute URL with a non-ASCII query: request line '" + requestLine + "'");
      assertThat(requestLine).isEqualTo("GET /head-echo?q=caf%C3%A9 HTTP/1.1");
      assertQuiet(pool);
    }
  }

  @Test
  void ipv6HostHeaderHasBrackets() {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName("::1"))) {
      assertThat(s.getLocalPort()).isPositive();
    } catch (IOException e) {
      Assumptions.abort("no IPv6 loopback: " + e);
    }
    try (NodeServer server = NodeServer.h1("::1");
        LlmPool pool = Interop.pool(Proto.H1, server.baseUrl("http", "::1"), null).build()) {
      String head = call(pool, HttpRequest.get("/head-echo")).response().bodyString();
      assertThat(head).contains("\r\nHost: [::1]:" + server.port + "\r\n");
      assertQuiet(pool);
    }
  }

  @Test
  void headerValuesCannotInjectHeaders() {
    assertThatThrownBy(() -> HttpRequest.get("/ok").header("x-a", "v\r\nX-Injected: 1"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageNotContaining("X-Injected");
    assertThatThrownBy(() -> HttpRequest.get("/ok").header("x-a", "v\nX-Injected: 1"))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> HttpRequest.get("/ok").header("x-a\r\nX-Injected", "1"))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> HttpRequest.get("/ok\r\nX-Injected: 1"))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void bearerTokenWithALineBreakCannotInjectAHeader() {
    // Refused when the pool is configured, without echoing the token (finding 4, fixed).
    try (NodeServer server = NodeServer.h1()) {
      assertThatThrownBy(
              () ->
                  LlmPool.builder()
                      .baseUrl(origin(server))
                      .http2(false)
                      .bearerToken(Interop.TOKEN + "\r\nX-Injected: 1")
                      .build())
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("bearerToken")
          .hasMessageNotContaining(Interop.TOKEN);
    }
  }

  @Test
  void readerHoldingDataIsNotAReadTimeout() {
    // docs/http.md: timeouts.read is "the longest silence while a response is awaited or arrives
    // (time the reader itself spends holding data does not count)".
    try (NodeServer server = NodeServer.h1();
        LlmPool pool =
            poolFor(server)
                .timeouts(Interop.timeouts().read(Duration.ofSeconds(1)).build())
                .build()) {
      long total = 0;
      LlmPoolException failure = null;
      try (dev.llmpool.http.StreamingResponse r =
          pool.stream(HttpRequest.get("/big?mb=8").build())) {
        byte[] first = r.readChunk();
        total += first == null ? 0 : first.length;
        Interop.letTimePass(Duration.ofMillis(2500)); // the reader is busy; the server waits on it
        byte[] buf = new byte[65536];
        for (int n; (n = r.read(buf, 0, buf.length)) >= 0; ) {
          total += n;
        }
      } catch (LlmPoolException e) {
        failure = Interop.seen(e);
      }
      long got = total;
      LlmPoolException f = failure;
      assertThat(f).as("a reader that paused 2.5 s (read timeout 1 s) got: " + f).isNull();
      assertThat(got).isEqualTo(8L * 1024 * 1024);
      assertQuiet(pool);
    }
  }

  @Test
  void controlCharactersInHeaderValuesAreRefused() {
    // RFC 9110 5.5: a field value is visible characters, SP, HTAB and obs-text; other control
    // characters are invalid and servers reject them (nginx: 400).
    try (NodeServer server = NodeServer.h1();
        LlmPool pool = poolFor(server).build()) {
      assertThatThrownBy(() -> HttpRequest.get("/head-echo").header("x-a", "a\u0001b\u007fc"))
          .isInstanceOf(IllegalArgumentException.class);
      assertQuiet(pool);
    }
  }

  @Test
  void theHarnessCountsEachCallByItsId() {
    // A smoke check of the harness itself: the control port reports calls by id.
    try (NodeServer server = NodeServer.h1();
        LlmPool pool = poolFor(server).build()) {
      Outcome o = call(pool, HttpRequest.get("/ok"));
      List<?> seen = server.requestsOf(o.id());
      assertThat(seen).hasSize(1);
    }
  }
}
