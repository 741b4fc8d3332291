package dev.llmpool.interop;

import static dev.llmpool.interop.Interop.assertNamesOrigin;
import static dev.llmpool.interop.Interop.assertQuiet;
import static dev.llmpool.interop.Interop.call;
import static dev.llmpool.interop.Interop.start;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.llmpool.ConnectFailedException;
import dev.llmpool.ConnectionLostException;
import dev.llmpool.HttpProtocolException;
import dev.llmpool.LlmPool;
import dev.llmpool.LlmPoolException;
import dev.llmpool.Phase;
import dev.llmpool.ReadTimeoutException;
import dev.llmpool.http.HttpRequest;
import dev.llmpool.http.StreamingResponse;
import dev.llmpool.interop.Interop.Outcome;
import dev.llmpool.interop.Interop.Pending;
import dev.llmpool.interop.Interop.Proto;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * llmpool against node's http2 module (nghttp2), a second HTTP/2 implementation llmpool did not
 * write: GOAWAY with a last-stream-id, REFUSED_STREAM, RST_STREAM after a complete response,
 * SETTINGS changed mid-connection, flow control with a tiny window, stalls, resets, garbage, huge
 * headers, 1xx, server-sent events.
 */
@ExtendWith(SuiteChecks.class)
class NodeHttp2InteropTest {

  private static Map<String, Object> cfg(Proto proto) {
    Map<String, Object> c = new HashMap<>();
    if (proto.tls) {
      Certs.make();
      c.put("tls", true);
      c.put("cert", Certs.SERVER.toString());
      c.put("key", Certs.SERVER_KEY.toString());
    }
    return c;
  }

  private static NodeServer server(Proto proto) {
    return NodeServer.h2(cfg(proto));
  }

  private static LlmPool.Builder poolFor(Proto proto, NodeServer server) {
    return Interop.pool(proto, server.baseUrl(proto.scheme(), "127.0.0.1"), Certs.CA);
  }

  private static String origin(Proto proto, NodeServer server) {
    return server.baseUrl(proto.scheme(), "127.0.0.1");
  }

  // ---- Refused and above GOAWAY: provably not processed, so re-sent ----

  @ParameterizedTest
  @EnumSource(
      value = Proto.class,
      names = {"H2", "H2C"})
  void refusedStreamIsResentAndProcessedOnce(Proto proto) {
    try (NodeServer server = server(proto);
        LlmPool pool = poolFor(proto, server).build()) {
      Outcome o = call(pool, HttpRequest.get("/refuse"));
      assertThat(o.response().bodyString()).isEqualTo("second");
      List<JsonNode> seen = server.requestsOf(o.id());
      assertThat(seen)
          .extracting(r -> r.get("outcome").asText())
          .containsExactly("refused", "processed");
      assertQuiet(pool);
    }
  }

  @ParameterizedTest
  @ValueSource(booleans = {false, true})
  void goawayResendsOnlyStreamsAboveLastStreamId(boolean closeRightAfter) {
    // 8 streams arrive on the first connection; the server sends GOAWAY naming the third, answers
    // the first three and (closeRightAfter) closes the TCP connection at once.
    Proto proto = Proto.H2C;
    try (NodeServer server = server(proto);
        LlmPool pool = poolFor(proto, server).build()) {
      List<Pending> calls = new ArrayList<>();
      String path = "/goaway-test?n=8&k=3&close=" + (closeRightAfter ? 1 : 0);
      for (int i = 0; i < 8; i++) {
        calls.add(start(pool, HttpRequest.get(path)));
      }
      List<Outcome> out = Interop.awaitAll(calls);
      assertThat(out).allSatisfy(o -> assertThat(o.ok()).as(o.toString()).isTrue());
      for (Outcome o : out) {
        assertThat(server.processed(o.id())).as("times " + o.id() + " was processed").isEqualTo(1);
      }
      long dropped =
          server.requests().stream()
              .filter(r -> "dropped".equals(r.get("outcome").asText()))
              .count();
      assertThat(dropped).as("streams above the GOAWAY's last-stream-id").isEqualTo(5);
      assertQuiet(pool);
    }
  }

  // ---- Answers before the request body: RST_STREAM(NO_ERROR) ----

  @ParameterizedTest
  @EnumSource(
      value = Proto.class,
      names = {"H2", "H2C"})
  void completeResponseThenRstNoErrorIsASuccess(Proto proto) {
    try (NodeServer server = server(proto);
        LlmPool pool = poolFor(proto, server).build()) {
      byte[] body = new byte[1024 * 1024];
      new Random(1).nextBytes(body);
      Outcome o = call(pool, HttpRequest.post("/early-rst").body(body, "application/octet-stream"));
      assertThat(o.response().bodyString()).isEqualTo("early");
      assertThat(server.processed(o.id())).isEqualTo(1);
      Outcome after = call(pool, HttpRequest.get("/ok"));
      assertThat(after.response().bodyString()).isEqualTo("ok");
      assertThat(server.connections()).as("the connection carried on").isEqualTo(1);
      assertQuiet(pool);
    }
  }

  // ---- Resets and closes after the request: may have been processed, never re-sent ----

  @ParameterizedTest
  @ValueSource(strings = {"/reset-midbody", "/reset-before-response", "/tcp-reset", "/tcp-close"})
  void lossAfterTheRequestIsReportedNotResent(String path) {
    Proto proto = Proto.H2C;
    try (NodeServer server = server(proto);
        LlmPool pool = poolFor(proto, server).build()) {
      Outcome o = call(pool, HttpRequest.get(path));
      LlmPoolException e = o.error();
      if (path.equals("/reset-midbody")) {
        // node ends the stream before resetting it: 100 bytes of a content-length of 1000.
        assertThat(e).isInstanceOfAny(ConnectionLostException.class, HttpProtocolException.class);
      } else {
        assertThat(e).isInstanceOf(ConnectionLostException.class);
        assertThat(e.phase()).isEqualTo(Phase.READ);
      }
      assertThat(e.requestMayHaveBeenProcessed()).isTrue();
      assertNamesOrigin(e, origin(proto, server));
      assertThat(server.requestsOf(o.id())).as("sent once").hasSize(1);
      Outcome after = call(pool, HttpRequest.get("/ok"));
      assertThat(after.response().bodyString()).isEqualTo("ok");
      if (path.startsWith("/reset")) {
        assertThat(server.connections()).as("a reset stream leaves the connection").isEqualTo(1);
      }
      assertQuiet(pool);
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"/stall", "/stall-head"})
  void stalledServerEndsWithReadTimeoutAndTheConnectionCarriesOn(String path) {
    Proto proto = Proto.H2C;
    try (NodeServer server = server(proto);
        LlmPool pool =
            poolFor(proto, server)
                .timeouts(Interop.timeouts().read(Duration.ofSeconds(1)).build())
                .build()) {
      Outcome o = call(pool, HttpRequest.get(path));
      LlmPoolException e = o.error();
      assertThat(e).isInstanceOf(ReadTimeoutException.class);
      assertThat(e.requestMayHaveBeenProcessed()).isTrue();
      assertNamesOrigin(e, origin(proto, server));
      assertThat(server.requestsOf(o.id())).hasSize(1);
      assertThat(call(pool, HttpRequest.get("/ok")).response().bodyString()).isEqualTo("ok");
      assertThat(server.connections()).isEqualTo(1);
      assertQuiet(pool);
    }
  }

  // ---- SETTINGS_MAX_CONCURRENT_STREAMS changed mid-connection ----

  @Test
  void loweredStreamLimitIsObeyedAndNoCallFails() {
    Proto proto = Proto.H2C;
    try (NodeServer server = server(proto);
        LlmPool pool = poolFor(proto, server).limits(Interop.perHost(1)).build()) {
      assertThat(call(pool, HttpRequest.get("/settings?max=2")).response().status()).isEqualTo(200);
      List<Pending> calls = new ArrayList<>();
      for (int i = 0; i < 12; i++) {
        calls.add(start(pool, HttpRequest.get("/slow?ms=200")));
      }
      List<Outcome> out = Interop.awaitAll(calls);
      assertThat(out).allSatisfy(o -> assertThat(o.ok()).as(o.toString()).isTrue());
      JsonNode s = server.stats();
      assertThat(s.get("maxOpenAfterLimit").asInt())
          .as("streams open at once after the limit")
          .isBetween(1, 2);
      assertThat(server.connections()).isEqualTo(1);
      assertQuiet(pool);
    }
  }

  @Test
  void raisedStreamLimitServesWaitingCallsAtOnce() {
    Proto proto = Proto.H2C;
    Map<String, Object> c = cfg(proto);
    c.put("settings", Map.of("maxConcurrentStreams", 1));
    try (NodeServer server = NodeServer.h2(c);
        LlmPool pool = poolFor(proto, server).limits(Interop.perHost(1)).build()) {
      Pending raise = start(pool, HttpRequest.get("/settings?max=8&ms=1000"));
      Interop.until(
          "the server got the first call",
          Duration.ofSeconds(10),
          () -> server.requests().size() == 1);
      List<Pending> calls = new ArrayList<>();
      for (int i = 0; i < 7; i++) {
        calls.add(start(pool, HttpRequest.get("/slow?ms=500")));
      }
      List<Outcome> out = Interop.awaitAll(calls);
      assertThat(raise.await().ok()).isTrue();
      assertThat(out).allSatisfy(o -> assertThat(o.ok()).as(o.toString()).isTrue());
      assertThat(server.stats().get("maxOpen").asInt())
          .as("streams at once after the raise")
          .isEqualTo(8);
      assertThat(server.connections()).isEqualTo(1);
      assertQuiet(pool);
    }
  }

  @Test
  void zeroStreamLimitMakesCallsWaitNotFail() {
    Proto proto = Proto.H2C;
    Map<String, Object> c = cfg(proto);
    c.put("settings", Map.of("maxConcurrentStreams", 0));
    c.put("raiseAfterMs", 700);
    c.put("raiseTo", 10);
    try (NodeServer server = NodeServer.h2(c);
        LlmPool pool = poolFor(proto, server).limits(Interop.perHost(2)).build()) {
      List<Pending> calls = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        calls.add(start(pool, HttpRequest.get("/ok")));
      }
      List<Outcome> out = Interop.awaitAll(calls);
      assertThat(out).allSatisfy(o -> assertThat(o.ok()).as(o.toString()).isTrue());
      assertQuiet(pool);
    }
  }

  // ---- Flow control ----

  @ParameterizedTest
  @EnumSource(
      value = Proto.class,
      names = {"H2", "H2C"})
  void tinyInitialWindowStillCarriesLargeBodies(Proto proto) {
    Map<String, Object> c = cfg(proto);
    c.put("settings", Map.of("initialWindowSize", 16));
    try (NodeServer server = NodeServer.h2(c);
        LlmPool pool = poolFor(proto, server).build()) {
      byte[] body = new byte[200_000];
      new Random(2).nextBytes(body);
      Outcome o = call(pool, HttpRequest.post("/echo").body(body, "application/octet-stream"));
      assertThat(o.response().bodyString())
          .isEqualTo("{\"len\":200000,\"sha256\":\"" + Nginx.sha256(body) + "\"}");
      assertQuiet(pool);
    }
  }

  @ParameterizedTest
  @EnumSource(
      value = Proto.class,
      names = {"H2", "H2C"})
  void largeResponseReadSlowlyArrivesWhole(Proto proto) {
    try (NodeServer server = server(proto);
        LlmPool pool = poolFor(proto, server).build()) {
      long total = 0;
      try (StreamingResponse r = pool.stream(HttpRequest.get("/big?mb=8").build())) {
        byte[] buf = new byte[777];
        for (int n; (n = r.read(buf, 0, buf.length)) >= 0; ) {
          total += n;
        }
      }
      assertThat(total).isEqualTo(8L * 1024 * 1024);
      assertQuiet(pool);
    }
  }

  // ---- Headers ----

  @Test
  void hugeResponseHeaderFailsCleanly() {
    Proto proto = Proto.H2C;
    try (NodeServer server = server(proto);
        LlmPool pool = poolFor(proto, server).build()) {
      Outcome o = call(pool, HttpRequest.get("/huge-header?kb=100"));
      LlmPoolException e = o.error();
      assertThat(e.requestMayHaveBeenProcessed()).isTrue();
      assertNamesOrigin(e, origin(proto, server));
      assertThat(server.requestsOf(o.id())).hasSize(1);
      assertThat(call(pool, HttpRequest.get("/ok")).response().bodyString()).isEqualTo("ok");
      assertQuiet(pool);
      NginxInteropTest.record("h2c 100 KB response header: " + e);
    }
  }

  @Test
  void hugeRequestHeaderIsBoundedByTheReadTimeout() {
    // node (nghttp2) drops a header block over its limit without a word: the call ends at
    // timeouts.read, once, and the connection carries on.
    Proto proto = Proto.H2C;
    try (NodeServer server = server(proto);
        LlmPool pool =
            poolFor(proto, server)
                .timeouts(Interop.timeouts().read(Duration.ofSeconds(1)).build())
                .build()) {
      Outcome o = call(pool, HttpRequest.get("/ok").header("x-big", "v".repeat(100_000)));
      NginxInteropTest.record("h2c 100 KB request header (node): " + o);
      if (!o.ok()) {
        assertNamesOrigin(o.error(), origin(proto, server));
      }
      assertThat(server.requestsOf(o.id()).size())
          .as("attempts that reached the server")
          .isLessThanOrEqualTo(1);
      assertThat(call(pool, HttpRequest.get("/ok")).response().bodyString()).isEqualTo("ok");
      assertQuiet(pool);
    }
  }

  @Test
  void requestHeadersOverTheServersAdvertisedLimitFailClearlyWithoutResending() {
    // The server advertises SETTINGS_MAX_HEADER_LIST_SIZE 16384; a 100 KB header cannot be sent.
    Proto proto = Proto.H2C;
    Map<String, Object> c = cfg(proto);
    c.put("settings", Map.of("maxHeaderListSize", 16384));
    try (NodeServer server = NodeServer.h2(c);
        LlmPool pool =
            poolFor(proto, server)
                .timeouts(Interop.timeouts().read(Duration.ofSeconds(1)).build())
                .build()) {
      Outcome o = call(pool, HttpRequest.get("/ok").header("x-big", "v".repeat(100_000)));
      NginxInteropTest.record("h2c 100 KB request header, server limit 16 KB: " + o);
      assertThat(o.ok()).isFalse();
      assertNamesOrigin(o.error(), origin(proto, server));
      assertThat(o.error().requestMayHaveBeenProcessed()).isFalse();
      assertThat(server.requestsOf(o.id())).as("attempts that reached the server").isEmpty();
      assertThat(call(pool, HttpRequest.get("/ok")).response().bodyString()).isEqualTo("ok");
      assertQuiet(pool);
      assertThat(o.error().getMessage())
          .as("the message names the cause (request headers over the server's limit)")
          .containsIgnoringCase("header");
    }
  }

  @Test
  void contentLengthThatDoesNotMatchTheBodyIsAnError() {
    Proto proto = Proto.H2C;
    try (NodeServer server = server(proto);
        LlmPool pool = poolFor(proto, server).build()) {
      for (String path : List.of("/cl-short", "/cl-long")) {
        Outcome o = call(pool, HttpRequest.get(path));
        assertThat(o.ok()).as(path + ": " + o).isFalse();
        assertThat(o.error()).isInstanceOf(HttpProtocolException.class);
        assertThat(o.error().requestMayHaveBeenProcessed()).isTrue();
        assertThat(server.requestsOf(o.id())).hasSize(1);
      }
      assertThat(call(pool, HttpRequest.get("/ok")).response().bodyString()).isEqualTo("ok");
      assertQuiet(pool);
    }
  }

  @Test
  void readerHoldingDataIsNotAReadTimeout() {
    // docs/http.md: timeouts.read does not count time the reader itself spends holding data.
    Proto proto = Proto.H2C;
    try (NodeServer server = server(proto);
        LlmPool pool =
            poolFor(proto, server)
                .timeouts(Interop.timeouts().read(Duration.ofSeconds(1)).build())
                .build()) {
      long total = 0;
      LlmPoolException failure = null;
      try (StreamingResponse r = pool.stream(HttpRequest.get("/big?mb=8").build())) {
        byte[] first = r.readChunk();
        total += first == null ? 0 : first.length;
        Interop.letTimePass(Duration.ofMillis(2500)); // the reader is busy; the window is full
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
  void unansweredPingReplacesTheConnectionUnnoticed() {
    // A server that stopped answering (here: never acks PING) is found out by the idle check;
    // the call goes to a new connection without noticing, and is sent once.
    Map<String, Object> c = new HashMap<>();
    c.put("raw", "no-ping-ack");
    try (NodeServer server = NodeServer.h2(c);
        LlmPool pool =
            poolFor(Proto.H2C, server)
                .timeouts(Interop.timeouts().connect(Duration.ofSeconds(1)).build())
                .http2PingAfterIdle(Duration.ofMillis(300))
                .build()) {
      assertThat(call(pool, HttpRequest.get("/ok")).response().status()).isEqualTo(200);
      Interop.letTimePass(Duration.ofMillis(800));
      assertThat(call(pool, HttpRequest.get("/ok")).response().status()).isEqualTo(200);
      assertThat(server.connections()).isEqualTo(2);
      assertThat(server.requests()).as("HEADERS frames received").hasSize(2);
      assertQuiet(pool);
    }
  }

  @ParameterizedTest
  @EnumSource(
      value = Proto.class,
      names = {"H2", "H2C"})
  void authorityAndHeadersAreWhatRfc9113Wants(Proto proto) {
    try (NodeServer server = server(proto);
        LlmPool pool = poolFor(proto, server).build()) {
      Outcome o = call(pool, HttpRequest.get("/headers?x=1").header("X-Mixed-Case", "v"));
      String json = o.response().bodyString();
      int port = server.port;
      assertThat(json).contains("\":authority\":\"127.0.0.1:" + port + "\"");
      assertThat(json).contains("\":path\":\"/headers?x=1\"");
      assertThat(json).contains("\":scheme\":\"" + proto.scheme() + "\"");
      assertThat(json).contains("\"x-mixed-case\":\"v\"");
      assertThat(json).contains("\"authorization\":\"Bearer " + Interop.TOKEN + "\"");
      assertThat(json).doesNotContain("\"host\"").doesNotContain("\"connection\"");
      assertQuiet(pool);
    }
  }

  @Test
  void informationalResponsesAreSkipped() {
    Proto proto = Proto.H2C;
    try (NodeServer server = server(proto);
        LlmPool pool = poolFor(proto, server).build()) {
      assertThat(call(pool, HttpRequest.get("/continue")).response().bodyString())
          .isEqualTo("final");
      assertQuiet(pool);
    }
  }

  @ParameterizedTest
  @EnumSource(
      value = Proto.class,
      names = {"H2", "H2C"})
  void headOfALargeResourceIsNotABody(Proto proto) {
    try (NodeServer server = server(proto);
        LlmPool pool = poolFor(proto, server).maxResponseBodySize(1024 * 1024).build()) {
      Outcome o = call(pool, HttpRequest.builder("HEAD", "/head"));
      assertThat(o.ok()).as("HEAD with content-length 100000000: " + o).isTrue();
      assertThat(o.response().bodyLength()).isZero();
      assertQuiet(pool);
    }
  }

  @Test
  void announcedContentLengthDoesNotReserveMemory() {
    // 16 calls to a server that announces a 60 MB body, sends 10 bytes and stalls.
    try (NodeServer server = server(Proto.H2C);
        LlmPool pool =
            poolFor(Proto.H2C, server)
                .timeouts(Interop.timeouts().read(Duration.ofSeconds(30)).build())
                .build()) {
      long held = Interop.heapHeldByAnnouncedBodies(pool, server, "/announce?n=60000000", 16);
      NginxInteropTest.record(
          "h2c"
              + ": heap held by 16 calls announcing 60 MB each: "
              + held / (1024 * 1024)
              + " MiB");
      assertThat(held / (1024 * 1024))
          .as("MiB of heap held while 16 calls wait for 10 bytes of body each")
          .isLessThan(256);
      assertQuiet(pool);
    }
  }

  // ---- Server-sent events ----

  @ParameterizedTest
  @EnumSource(
      value = Proto.class,
      names = {"H2", "H2C"})
  void serverSentEventsWithPausesArriveInOrder(Proto proto) throws IOException {
    try (NodeServer server = server(proto);
        LlmPool pool =
            poolFor(proto, server)
                .timeouts(Interop.timeouts().read(Duration.ofSeconds(2)).build())
                .build()) {
      List<String> events = readEvents(pool, "/sse?n=10&gap=150");
      assertThat(events).hasSize(11).startsWith("data: {\"i\":0}").endsWith("data: [DONE]");
      assertQuiet(pool);
    }
  }

  @Test
  void eventStreamSilentLongerThanReadTimeoutFailsMidStream() {
    Proto proto = Proto.H2C;
    try (NodeServer server = server(proto);
        LlmPool pool =
            poolFor(proto, server)
                .timeouts(Interop.timeouts().read(Duration.ofSeconds(1)).build())
                .build()) {
      List<String> got = new ArrayList<>();
      LlmPoolException e = null;
      try {
        readEventsInto(pool, "/sse?n=6&gap=50&pauseAt=2&pauseMs=4000", got);
      } catch (LlmPoolException ex) {
        e = Interop.seen(ex);
      } catch (IOException ex) {
        throw new AssertionError(ex);
      }
      assertThat(got).containsExactly("data: {\"i\":0}", "data: {\"i\":1}", "data: {\"i\":2}");
      assertThat(e).isInstanceOf(ReadTimeoutException.class);
      assertThat(e.requestMayHaveBeenProcessed()).isTrue();
      assertNamesOrigin(e, origin(proto, server));
      assertThat(server.requests()).hasSize(1);
      assertThat(call(pool, HttpRequest.get("/ok")).response().bodyString()).isEqualTo("ok");
      assertThat(server.connections()).isEqualTo(1);
      assertQuiet(pool);
    }
  }

  @Test
  void closingAnEventStreamEarlyResetsOnlyItsStream() throws IOException {
    Proto proto = Proto.H2C;
    try (NodeServer server = server(proto);
        LlmPool pool = poolFor(proto, server).build()) {
      try (StreamingResponse r = pool.stream(HttpRequest.get("/sse?n=100&gap=100").build())) {
        BufferedReader in =
            new BufferedReader(new InputStreamReader(r.bodyStream(), StandardCharsets.UTF_8));
        assertThat(in.readLine()).isEqualTo("data: {\"i\":0}");
      }
      assertQuiet(pool);
      assertThat(call(pool, HttpRequest.get("/ok")).response().bodyString()).isEqualTo("ok");
      assertThat(server.connections()).isEqualTo(1);
      assertQuiet(pool);
    }
  }

  private static List<String> readEvents(LlmPool pool, String path) throws IOException {
    List<String> out = new ArrayList<>();
    readEventsInto(pool, path, out);
    return out;
  }

  private static void readEventsInto(LlmPool pool, String path, List<String> out)
      throws IOException {
    try (StreamingResponse r =
        pool.stream(HttpRequest.get(path).header("accept", "text/event-stream").build())) {
      BufferedReader in =
          new BufferedReader(new InputStreamReader(r.bodyStream(), StandardCharsets.UTF_8));
      for (String line; (line = in.readLine()) != null; ) {
        if (!line.isEmpty()) {
          out.add(line);
        }
      }
    }
  }

  // ---- Not HTTP/2 at all ----

  @Test
  void garbageInsteadOfSettingsFailsTheConnectNotTheRequest() {
    Map<String, Object> c = new HashMap<>();
    c.put("raw", "garbage-at-start");
    try (NodeServer server = NodeServer.h2(c);
        LlmPool pool = poolFor(Proto.H2C, server).build()) {
      LlmPoolException e = call(pool, HttpRequest.get("/ok")).error();
      assertThat(e).isInstanceOf(ConnectFailedException.class);
      assertThat(e.requestMayHaveBeenProcessed()).isFalse();
      assertNamesOrigin(e, origin(Proto.H2C, server));
      assertQuiet(pool);
    }
  }

  @Test
  void garbageAfterTheRequestIsAProtocolErrorNotResent() {
    Map<String, Object> c = new HashMap<>();
    c.put("raw", "garbage-after-headers");
    try (NodeServer server = NodeServer.h2(c);
        LlmPool pool = poolFor(Proto.H2C, server).build()) {
      LlmPoolException e = call(pool, HttpRequest.get("/ok")).error();
      assertThat(e).isInstanceOf(HttpProtocolException.class);
      assertThat(e.requestMayHaveBeenProcessed()).isTrue();
      assertNamesOrigin(e, origin(Proto.H2C, server));
      assertThat(server.requests()).as("HEADERS frames the server got").hasSize(1);
      assertQuiet(pool);
    }
  }

  @Test
  void tlsHandshakeCutByTheServerSaysSo() {
    // A TLS listener that closes every connection at once (an overloaded proxy, a port that is
    // not TLS): the failure should say the server closed the connection, not look like a
    // certificate problem with an internal class name.
    Certs.make();
    Map<String, Object> c = new HashMap<>();
    c.put("raw", "close-at-once");
    try (NodeServer server = NodeServer.h2(c);
        LlmPool pool = poolFor(Proto.H2, server).build()) {
      LlmPoolException e = call(pool, HttpRequest.get("/ok")).error();
      NginxInteropTest.record("TLS handshake cut by the server: " + e);
      assertThat(e.requestMayHaveBeenProcessed()).isFalse();
      assertNamesOrigin(e, origin(Proto.H2, server));
      assertQuiet(pool);
      assertThat(e.getMessage())
          .as("message of a handshake the server cut")
          .doesNotContain("Exception")
          .containsIgnoringCase("closed");
    }
  }

  // ---- Idle connection check ----

  @Test
  void idleConnectionIsPingedAndReused() {
    Proto proto = Proto.H2C;
    try (NodeServer server = server(proto);
        LlmPool pool = poolFor(proto, server).http2PingAfterIdle(Duration.ofMillis(300)).build()) {
      assertThat(call(pool, HttpRequest.get("/ok")).ok()).isTrue();
      Interop.letTimePass(Duration.ofMillis(800));
      assertThat(call(pool, HttpRequest.get("/ok")).ok()).isTrue();
      assertThat(server.connections()).isEqualTo(1);
      assertQuiet(pool);
    }
  }
}
