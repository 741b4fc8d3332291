package dev.llmpool.interop;

import static dev.llmpool.interop.Interop.assertNamesOrigin;
import static dev.llmpool.interop.Interop.assertQuiet;
import static dev.llmpool.interop.Interop.call;
import static dev.llmpool.interop.Interop.pool;
import static dev.llmpool.interop.Interop.start;
import static org.assertj.core.api.Assertions.assertThat;

import dev.llmpool.ConnectFailedException;
import dev.llmpool.ConnectionLostException;
import dev.llmpool.LlmPool;
import dev.llmpool.LlmPoolException;
import dev.llmpool.Phase;
import dev.llmpool.PoolStats.CloseReason;
import dev.llmpool.ReadTimeoutException;
import dev.llmpool.ResponseTooLargeException;
import dev.llmpool.TlsException;
import dev.llmpool.http.HttpRequest;
import dev.llmpool.http.HttpResponse;
import dev.llmpool.http.StreamingResponse;
import dev.llmpool.interop.Interop.Outcome;
import dev.llmpool.interop.Interop.Pending;
import dev.llmpool.interop.Interop.Proto;
import dev.llmpool.interop.Nginx.Entry;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * llmpool against nginx (the distribution's build): HTTP/1.1 keep-alive, TLS 1.3 with ALPN h2, h2c;
 * servers that retire idle connections, cap requests per connection, cap concurrent streams, answer
 * before reading a body, proxy to a slow upstream, reload and stop under load.
 */
@ExtendWith(SuiteChecks.class)
class NginxInteropTest {

  private static final Duration BOUND = Duration.ofSeconds(20);

  private static Nginx.Config config() {
    return new Nginx.Config();
  }

  private static LlmPool.Builder poolFor(Proto proto, Nginx nginx) {
    return pool(proto, nginx.baseUrl(proto), Certs.CA);
  }

  private static byte[] randomBody(int size) {
    byte[] b = new byte[size];
    new Random(size).nextBytes(b);
    return b;
  }

  // ---- Reuse and multiplexing ----

  @ParameterizedTest
  @EnumSource(Proto.class)
  void sequentialCallsRideOneConnection(Proto proto) {
    try (Nginx nginx = Nginx.start(config());
        LlmPool pool = poolFor(proto, nginx).build()) {
      List<String> ids = new ArrayList<>();
      for (int i = 0; i < 30; i++) {
        Outcome o = call(pool, HttpRequest.get("/hello.txt"));
        assertThat(o.response().bodyString()).isEqualTo("hello from nginx\n");
        assertThat(o.response().version().toString()).contains(proto.http2 ? "2" : "1.1");
        ids.add(o.id());
      }
      List<Entry> log = nginx.logOf(ids, 30);
      assertThat(Nginx.connections(log)).as("connections nginx saw").isEqualTo(1);
      assertThat(pool.stats().opened()).isEqualTo(1);
      assertThat(pool.stats().reused()).isEqualTo(29);
      assertQuiet(pool);
    }
  }

  @ParameterizedTest
  @EnumSource(
      value = Proto.class,
      names = {"H2", "H2C"})
  void concurrentCallsShareOneHttp2Connection(Proto proto) {
    try (NodeServer upstream = NodeServer.h1();
        Nginx nginx = Nginx.start(config().upstream(upstream));
        LlmPool pool = poolFor(proto, nginx).build()) {
      List<Pending> calls = new ArrayList<>();
      for (int i = 0; i < 32; i++) {
        calls.add(start(pool, HttpRequest.get("/up/slow?ms=300")));
      }
      List<Outcome> out = Interop.awaitAll(calls);
      out.forEach(o -> assertThat(o.response().status()).isEqualTo(200));
      List<String> ids = out.stream().map(Outcome::id).toList();
      assertThat(Nginx.connections(nginx.logOf(ids, 32))).isEqualTo(1);
      assertQuiet(pool);
    }
  }

  @ParameterizedTest
  @EnumSource(
      value = Proto.class,
      names = {"H2", "H2C"})
  void concurrentCallsKeepToMaxConcurrentStreams(Proto proto) {
    // http2_max_concurrent_streams 4: 32 concurrent calls need ceil(32 / 4) = 8 connections.
    try (NodeServer upstream = NodeServer.h1();
        Nginx nginx = Nginx.start(config().upstream(upstream).maxConcurrentStreams(4));
        LlmPool pool = poolFor(proto, nginx).limits(Interop.perHost(16)).build()) {
      List<Pending> calls = new ArrayList<>();
      for (int i = 0; i < 32; i++) {
        calls.add(start(pool, HttpRequest.get("/up/slow?ms=500")));
      }
      List<Outcome> out = Interop.awaitAll(calls);
      out.forEach(o -> assertThat(o.response().status()).isEqualTo(200));
      List<String> ids = out.stream().map(Outcome::id).toList();
      List<Entry> log = nginx.logOf(ids, 32);
      assertThat(log).as("no call refused or repeated").hasSize(32);
      assertThat(Nginx.connections(log)).isEqualTo(8);
      assertThat(pool.stats().peakOpen()).isLessThanOrEqualTo(8);
      assertQuiet(pool);
    }
  }

  // ---- Idle connections the server closes ----

  @ParameterizedTest
  @EnumSource(Proto.class)
  void idleConnectionClosedByServerIsReplacedUnnoticed(Proto proto) {
    try (Nginx nginx = Nginx.start(config().keepaliveTimeout("1s"));
        LlmPool pool = poolFor(proto, nginx).build()) {
      List<String> ids = new ArrayList<>();
      for (int round = 1; round <= 3; round++) {
        Outcome o = call(pool, HttpRequest.get("/hello.txt"));
        assertThat(o.response().status()).isEqualTo(200);
        ids.add(o.id());
        int closedBefore = round - 1;
        Interop.until(
            "nginx closed the idle connection (keepalive_timeout 1s): " + pool.stats(),
            BOUND,
            () -> pool.stats().closed() > closedBefore);
      }
      List<Entry> log = nginx.logOf(ids, 3);
      assertThat(log).hasSize(3);
      assertThat(Nginx.connections(log)).isEqualTo(3);
      assertThat(pool.stats().closed(CloseReason.ERROR)).isZero();
      assertQuiet(pool);
    }
  }

  @ParameterizedTest
  @EnumSource(
      value = Proto.class,
      names = {"H2", "H2C"})
  void idleTimeoutGoawaysDoNotShrinkStreamsPerConnection(Proto proto) {
    // nginx closes an idle HTTP/2 connection with GOAWAY(NO_ERROR) naming the last stream it
    // served. Two idle connections that each carried one call send two GOAWAYs naming one stream:
    // that must not be taken for a server that allows one stream per connection.
    try (NodeServer upstream = NodeServer.h1();
        Nginx nginx = Nginx.start(config().upstream(upstream).keepaliveTimeout("1s"));
        LlmPool pool = poolFor(proto, nginx).build()) {
      for (int round = 1; round <= 2; round++) {
        assertThat(call(pool, HttpRequest.get("/hello.txt")).response().status()).isEqualTo(200);
        int closedBefore = round - 1;
        Interop.until(
            "nginx closed the idle connection with GOAWAY: " + pool.stats(),
            BOUND,
            () -> pool.stats().closed() > closedBefore);
      }
      List<Pending> calls = new ArrayList<>();
      for (int i = 0; i < 16; i++) {
        calls.add(start(pool, HttpRequest.get("/up/slow?ms=300")));
      }
      List<Outcome> out = Interop.awaitAll(calls);
      out.forEach(o -> assertThat(o.response().status()).isEqualTo(200));
      List<String> ids = out.stream().map(Outcome::id).toList();
      long connections = Nginx.connections(nginx.logOf(ids, 16));
      assertThat(connections)
          .as("connections for 16 concurrent calls (nginx allows 128 streams each)")
          .isEqualTo(1);
      assertQuiet(pool);
    }
  }

  @ParameterizedTest
  @EnumSource(
      value = Proto.class,
      names = {"H1", "H1_TLS"})
  void keepAliveTimeoutHeaderRetiresIdleConnectionBeforeServerDoes(Proto proto) {
    // "keepalive_timeout 3s 3s" makes nginx send "Keep-Alive: timeout=3".
    try (Nginx nginx = Nginx.start(config().keepaliveTimeout("3s 3s"));
        LlmPool pool = poolFor(proto, nginx).build()) {
      Outcome o = call(pool, HttpRequest.get("/hello.txt"));
      assertThat(o.response().header("keep-alive")).isEqualTo("timeout=3");
      Interop.until("the idle connection was retired", BOUND, () -> pool.stats().closed() == 1);
      assertThat(pool.stats().closed(CloseReason.IDLE_EXPIRED))
          .as("retired by the pool before nginx's stated 3 s, not closed by nginx: " + pool.stats())
          .isEqualTo(1);
      assertThat(call(pool, HttpRequest.get("/hello.txt")).response().status()).isEqualTo(200);
      assertQuiet(pool);
    }
  }

  // ---- Requests per connection ----

  @ParameterizedTest
  @EnumSource(
      value = Proto.class,
      names = {"H1", "H1_TLS"})
  void keepaliveRequestsConnectionCloseIsHonoured(Proto proto) {
    // keepalive_requests 3: nginx answers the third request with "Connection: close".
    try (Nginx nginx = Nginx.start(config().keepaliveRequests(3));
        LlmPool pool = poolFor(proto, nginx).build()) {
      List<String> ids = new ArrayList<>();
      for (int i = 0; i < 20; i++) {
        Outcome o = call(pool, HttpRequest.get("/hello.txt"));
        assertThat(o.response().status()).isEqualTo(200);
        ids.add(o.id());
      }
      List<Entry> log = nginx.logOf(ids, 20);
      assertThat(log).hasSize(20);
      assertThat(Nginx.connections(log)).isEqualTo(7);
      assertThat(pool.stats().opened()).isEqualTo(7);
      assertQuiet(pool);
    }
  }

  @ParameterizedTest
  @EnumSource(
      value = Proto.class,
      names = {"H2", "H2C"})
  void goawayEverySevenRequestsLosesNoCallAndRepeatsNone(Proto proto) throws Exception {
    // The issue's own scenario, against nginx: GOAWAY after 7 requests, 4 streams per connection,
    // 32 callers, at most 8 connections.
    try (NodeServer upstream = NodeServer.h1();
        Nginx nginx =
            Nginx.start(config().upstream(upstream).keepaliveRequests(7).maxConcurrentStreams(4));
        LlmPool pool = poolFor(proto, nginx).limits(Interop.perHost(8)).build()) {
      List<Outcome> out = runCallers(pool, 32, 10, "/up/slow?ms=10");
      List<Outcome> failed = out.stream().filter(o -> !o.ok()).toList();
      assertThat(failed).as("failed calls").isEmpty();
      assertExactlyOnce(out, upstream);
      List<String> ids = out.stream().map(Outcome::id).toList();
      List<Entry> log = nginx.logOf(ids, ids.size());
      assertThat(log).as("nginx served each call once").hasSize(ids.size());
      assertThat(pool.stats().peakOpen()).isLessThanOrEqualTo(8);
      assertQuiet(pool);
    }
  }

  // ---- Request bodies ----

  @ParameterizedTest
  @EnumSource(Proto.class)
  void requestBodiesReachTheUpstreamIntact(Proto proto) {
    try (NodeServer upstream = NodeServer.h1();
        Nginx nginx = Nginx.start(config().upstream(upstream));
        LlmPool pool = poolFor(proto, nginx).build()) {
      for (int size : new int[] {0, 1, 16 * 1024, 100_000, 3 * 1024 * 1024}) {
        byte[] body = randomBody(size);
        Outcome o = call(pool, HttpRequest.post("/up/echo").body(body, "application/octet-stream"));
        assertThat(o.response().bodyString())
            .isEqualTo("{\"len\":" + size + ",\"sha256\":\"" + Nginx.sha256(body) + "\"}");
      }
      assertThat(pool.stats().opened()).isEqualTo(1);
      assertQuiet(pool);
    }
  }

  @ParameterizedTest
  @EnumSource(Proto.class)
  void answerBeforeTheBodyIsReadIsAResponse(Proto proto) {
    // "return 200" answers without reading the body; a 1k client_max_body_size answers 413 while
    // the 4 MiB body is still being sent. Both are responses (RFC 9112 9.5, RFC 9113 8.1).
    try (Nginx nginx = Nginx.start(config());
        LlmPool pool = poolFor(proto, nginx).build()) {
      byte[] body = randomBody(4 * 1024 * 1024);
      Outcome early = call(pool, HttpRequest.post("/early").body(body, "application/octet-stream"));
      assertThat(early.response().status()).isEqualTo(200);
      assertThat(early.response().bodyString()).isEqualTo("early\n");
      Outcome tooBig =
          call(pool, HttpRequest.post("/small-limit").body(body, "application/octet-stream"));
      assertThat(tooBig.response().status()).isEqualTo(413);
      Outcome after = call(pool, HttpRequest.get("/hello.txt"));
      assertThat(after.response().status()).isEqualTo(200);
      List<Entry> log = nginx.logOf(List.of(early.id(), tooBig.id(), after.id()), 3);
      assertThat(log).as("each call reached nginx once").hasSize(3);
      assertQuiet(pool);
    }
  }

  // ---- Latency and timeouts ----

  @ParameterizedTest
  @EnumSource(Proto.class)
  void readTimeoutAgainstASlowUpstreamIsNotResent(Proto proto) {
    try (NodeServer upstream = NodeServer.h1();
        Nginx nginx = Nginx.start(config().upstream(upstream));
        LlmPool pool =
            poolFor(proto, nginx)
                .timeouts(Interop.timeouts().read(Duration.ofSeconds(1)).build())
                .build()) {
      Outcome fast = call(pool, HttpRequest.get("/up/slow?ms=200"));
      assertThat(fast.response().status()).isEqualTo(200);
      Outcome slow = call(pool, HttpRequest.get("/up/slow?ms=4000"));
      LlmPoolException e = slow.error();
      assertThat(e).isInstanceOf(ReadTimeoutException.class);
      assertThat(e.phase()).isEqualTo(Phase.READ);
      assertThat(e.requestMayHaveBeenProcessed()).isTrue();
      assertNamesOrigin(e, nginx.origin(proto));
      assertThat(upstream.requestsOf(slow.id())).as("sent once").hasSize(1);
      assertThat(call(pool, HttpRequest.get("/hello.txt")).response().status()).isEqualTo(200);
      assertQuiet(pool);
    }
  }

  // ---- Large and streamed responses ----

  @ParameterizedTest
  @EnumSource(Proto.class)
  void largeResponsesArriveWholeOrStreamed(Proto proto) throws Exception {
    try (Nginx nginx = Nginx.start(config());
        LlmPool pool = poolFor(proto, nginx).build()) {
      HttpResponse whole = call(pool, HttpRequest.get("/big.bin")).response();
      assertThat(whole.bodyLength()).isEqualTo(Nginx.BIG_SIZE);
      assertThat(Nginx.sha256(whole.body())).isEqualTo(Nginx.bigSha256());
      MessageDigest md = MessageDigest.getInstance("SHA-256");
      long total = 0;
      try (StreamingResponse r = pool.stream(HttpRequest.get("/big.bin").build())) {
        byte[] buf = new byte[1000];
        for (int n; (n = r.read(buf, 0, buf.length)) >= 0; ) {
          md.update(buf, 0, n);
          total += n;
        }
      }
      assertThat(total).isEqualTo(Nginx.BIG_SIZE);
      assertThat(HexFormat.of().formatHex(md.digest())).isEqualTo(Nginx.bigSha256());
      assertQuiet(pool);
    }
  }

  @ParameterizedTest
  @EnumSource(Proto.class)
  void bodyOverTheLimitFailsAndThePoolCarriesOn(Proto proto) {
    try (Nginx nginx = Nginx.start(config());
        LlmPool pool = poolFor(proto, nginx).maxResponseBodySize(1024 * 1024).build()) {
      LlmPoolException e = call(pool, HttpRequest.get("/big.bin")).error();
      assertThat(e).isInstanceOf(ResponseTooLargeException.class);
      assertThat(e.requestMayHaveBeenProcessed()).isTrue();
      assertNamesOrigin(e, nginx.origin(proto));
      assertThat(call(pool, HttpRequest.get("/hello.txt")).response().status()).isEqualTo(200);
      assertQuiet(pool);
    }
  }

  @ParameterizedTest
  @EnumSource(Proto.class)
  void headOfALargeFileIsNotABody(Proto proto) {
    try (Nginx nginx = Nginx.start(config());
        LlmPool pool = poolFor(proto, nginx).maxResponseBodySize(1024 * 1024).build()) {
      Outcome head = call(pool, HttpRequest.builder("HEAD", "/big.bin"));
      assertThat(head.ok()).as("HEAD of a 16 MiB file: " + head).isTrue();
      assertThat(head.response().status()).isEqualTo(200);
      assertThat(head.response().bodyLength()).isZero();
      assertThat(head.response().header("content-length"))
          .isEqualTo(String.valueOf(Nginx.BIG_SIZE));
      assertThat(call(pool, HttpRequest.get("/hello.txt")).response().status()).isEqualTo(200);
      assertQuiet(pool);
    }
  }

  @ParameterizedTest
  @EnumSource(Proto.class)
  void noContentAndNotModifiedKeepTheConnection(Proto proto) {
    try (Nginx nginx = Nginx.start(config());
        LlmPool pool = poolFor(proto, nginx).build()) {
      HttpResponse first = call(pool, HttpRequest.get("/hello.txt")).response();
      String etag = first.header("etag");
      assertThat(etag).isNotNull();
      Outcome noContent = call(pool, HttpRequest.get("/204"));
      assertThat(noContent.response().status()).isEqualTo(204);
      Outcome notModified = call(pool, HttpRequest.get("/hello.txt").header("if-none-match", etag));
      assertThat(notModified.response().status()).isEqualTo(304);
      assertThat(notModified.response().bodyLength()).isZero();
      Outcome after = call(pool, HttpRequest.get("/hello.txt"));
      assertThat(after.response().bodyString()).isEqualTo("hello from nginx\n");
      assertThat(pool.stats().opened()).isEqualTo(1);
      assertQuiet(pool);
    }
  }

  @ParameterizedTest
  @EnumSource(Proto.class)
  void streamedResponseArrivesAsTheUpstreamSendsIt(Proto proto) throws IOException {
    try (NodeServer upstream = NodeServer.h1();
        Nginx nginx = Nginx.start(config().upstream(upstream));
        LlmPool pool = poolFor(proto, nginx).build()) {
      List<String> events = new ArrayList<>();
      boolean doneAfterFirst;
      try (StreamingResponse r =
          pool.stream(
              HttpRequest.get("/up/sse?n=5&gap=400")
                  .header("accept", "text/event-stream")
                  .build())) {
        assertThat(r.status()).isEqualTo(200);
        BufferedReader in =
            new BufferedReader(new InputStreamReader(r.bodyStream(), StandardCharsets.UTF_8));
        String first = readEvent(in);
        events.add(first);
        doneAfterFirst = r.isDone();
        for (String ev; (ev = readEvent(in)) != null; ) {
          events.add(ev);
        }
      }
      assertThat(doneAfterFirst).as("the first event arrived before the last was sent").isFalse();
      assertThat(events)
          .containsExactly(
              "data: {\"i\":0}",
              "data: {\"i\":1}",
              "data: {\"i\":2}",
              "data: {\"i\":3}",
              "data: {\"i\":4}");
      assertQuiet(pool);
    }
  }

  private static String readEvent(BufferedReader in) throws IOException {
    for (String line; (line = in.readLine()) != null; ) {
      if (!line.isEmpty()) {
        return line;
      }
    }
    return null;
  }

  // ---- Request headers ----

  @ParameterizedTest
  @EnumSource(Proto.class)
  void oversizedRequestHeaderIsAnsweredOrFailsCleanly(Proto proto) {
    try (Nginx nginx = Nginx.start(config());
        LlmPool pool = poolFor(proto, nginx).build()) {
      Outcome o = call(pool, HttpRequest.get("/hello.txt").header("x-big", "v".repeat(20_000)));
      if (o.ok()) {
        assertThat(o.response().status()).isBetween(400, 499);
      } else {
        assertNamesOrigin(o.error(), nginx.origin(proto));
      }
      assertThat(call(pool, HttpRequest.get("/hello.txt")).response().status()).isEqualTo(200);
      assertQuiet(pool);
      record(proto + " 20 KB request header: " + o);
      if (proto.http2) {
        // nginx answers with GOAWAY(ENHANCE_YOUR_CALM) ("client sent too large header field").
        String message = o.ok() ? "" : o.error().getMessage();
        assertThat(message)
            .as("the failure names the server's GOAWAY error code")
            .contains("ENHANCE_YOUR_CALM");
      }
    }
  }

  @ParameterizedTest
  @EnumSource(
      value = Proto.class,
      names = {"H1", "H2C"})
  void ipv6LiteralAndPortGoIntoHostAndAuthority(Proto proto) {
    assumeIpv6();
    try (Nginx nginx = Nginx.start(config().host("::1"));
        LlmPool pool = poolFor(proto, nginx).build()) {
      Outcome o = call(pool, HttpRequest.get("/hello.txt"));
      assertThat(o.response().status()).isEqualTo(200);
      Entry e = nginx.logOf(List.of(o.id()), 1).get(0);
      String port = nginx.baseUrl(proto).substring(nginx.baseUrl(proto).lastIndexOf(':') + 1);
      assertThat(e.host()).isEqualTo("[::1]:" + port);
      assertQuiet(pool);
    }
  }

  private static void assumeIpv6() {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName("::1"))) {
      assertThat(s.getLocalPort()).isPositive();
    } catch (IOException e) {
      Assumptions.abort("no IPv6 loopback here: " + e);
    }
  }

  // ---- TLS ----

  @Test
  void certificateForAnotherNameFailsTheHandshake() {
    Certs.make();
    try (Nginx nginx = Nginx.start(config().certificate(Certs.WRONG, Certs.WRONG_KEY));
        LlmPool pool = poolFor(Proto.H2, nginx).build()) {
      LlmPoolException e = call(pool, HttpRequest.get("/hello.txt")).error();
      assertThat(e).isInstanceOf(TlsException.class);
      assertThat(e.phase()).isEqualTo(Phase.TLS);
      assertThat(e.requestMayHaveBeenProcessed()).isFalse();
      assertNamesOrigin(e, nginx.origin(Proto.H2));
      assertThat(nginx.log()).isEmpty();
      assertQuiet(pool);
    }
  }

  @Test
  void untrustedCertificateFailsTheHandshake() {
    try (Nginx nginx = Nginx.start(config());
        LlmPool pool =
            LlmPool.builder()
                .baseUrl(nginx.baseUrl(Proto.H2))
                .bearerToken(Interop.TOKEN)
                .timeouts(Interop.timeouts().build())
                .build()) {
      LlmPoolException e = call(pool, HttpRequest.get("/hello.txt")).error();
      assertThat(e).isInstanceOf(TlsException.class);
      assertThat(e.requestMayHaveBeenProcessed()).isFalse();
      assertNamesOrigin(e, nginx.origin(Proto.H2));
      assertQuiet(pool);
    }
  }

  @Test
  void hostNameIsVerifiedAgainstTheCertificate() {
    try (Nginx nginx = Nginx.start(config());
        LlmPool pool =
            pool(Proto.H2, nginx.baseUrl(Proto.H2).replace("127.0.0.1", "localhost"), Certs.CA)
                .build()) {
      Outcome o = call(pool, HttpRequest.get("/hello.txt"));
      assertThat(o.response().status()).isEqualTo(200);
      assertThat(nginx.logOf(List.of(o.id()), 1).get(0).host()).startsWith("localhost:");
      assertQuiet(pool);
    }
  }

  // ---- Protocol negotiation ----

  @Test
  void alpnFallsBackToHttp1WhenTheServerOffersOnlyIt() {
    // The TLS listener without "http2": ALPN picks http/1.1, although llmpool expected HTTP/2.
    try (NodeServer upstream = NodeServer.h1();
        Nginx nginx = Nginx.start(config().upstream(upstream));
        LlmPool pool =
            pool(Proto.H2, nginx.tlsHttp1BaseUrl(), Certs.CA).limits(Interop.perHost(8)).build()) {
      List<Pending> calls = new ArrayList<>();
      for (int i = 0; i < 8; i++) {
        calls.add(start(pool, HttpRequest.get("/up/slow?ms=300")));
      }
      List<Outcome> out = Interop.awaitAll(calls);
      out.forEach(o -> assertThat(o.response().version().toString()).contains("1.1"));
      List<String> ids = out.stream().map(Outcome::id).toList();
      assertThat(nginx.logOf(ids, 8)).hasSize(8);
      List<Outcome> again = new ArrayList<>();
      for (int i = 0; i < 8; i++) {
        again.add(call(pool, HttpRequest.get("/hello.txt")));
      }
      assertThat(again).allSatisfy(o -> assertThat(o.response().status()).isEqualTo(200));
      assertThat(pool.stats().opened())
          .as("connections reused after the fallback")
          .isLessThanOrEqualTo(8);
      assertQuiet(pool);
    }
  }

  @Test
  void h2cPriorKnowledgeAgainstAnHttp1OnlyPortFailsClearly() {
    try (Nginx nginx = Nginx.start(config());
        LlmPool pool = pool(Proto.H2C, nginx.baseUrl(Proto.H1), null).build()) {
      LlmPoolException e = call(pool, HttpRequest.get("/hello.txt")).error();
      assertThat(e).isInstanceOf(ConnectFailedException.class);
      assertThat(e.requestMayHaveBeenProcessed()).isFalse();
      assertThat(e.getMessage()).contains("h2c prior knowledge");
      assertNamesOrigin(e, nginx.origin(Proto.H1));
      assertQuiet(pool);
    }
  }

  @ParameterizedTest
  @EnumSource(
      value = Proto.class,
      names = {"H1", "H1_TLS"})
  void expectContinueFromTheCallerIsHarmless(Proto proto) {
    try (NodeServer upstream = NodeServer.h1();
        Nginx nginx = Nginx.start(config().upstream(upstream));
        LlmPool pool = poolFor(proto, nginx).build()) {
      byte[] body = randomBody(200_000);
      Outcome o =
          call(
              pool,
              HttpRequest.post("/up/echo")
                  .header("expect", "100-continue")
                  .body(body, "application/octet-stream"));
      assertThat(o.response().bodyString()).contains("\"len\":200000");
      assertThat(call(pool, HttpRequest.get("/hello.txt")).response().status()).isEqualTo(200);
      assertThat(pool.stats().opened()).isEqualTo(1);
      assertQuiet(pool);
    }
  }

  // ---- nginx reloaded or stopped under load ----

  @ParameterizedTest
  @EnumSource(Proto.class)
  void reloadUnderLoadRepeatsNoCall(Proto proto) throws Exception {
    try (NodeServer upstream = NodeServer.h1();
        Nginx nginx = Nginx.start(config().upstream(upstream));
        LlmPool pool = poolFor(proto, nginx).limits(Interop.perHost(8)).build()) {
      AtomicInteger done = new AtomicInteger();
      ExecutorService signals = Executors.newSingleThreadExecutor();
      Future<?> reloads =
          signals.submit(
              () -> {
                for (int target : new int[] {60, 140}) {
                  Interop.until("calls in flight", BOUND, () -> done.get() >= target);
                  nginx.reload();
                }
              });
      List<Outcome> out = runCallers(pool, 8, 30, "/up/slow?ms=30", done);
      reloads.get(30, TimeUnit.SECONDS);
      signals.shutdown();
      String summary = assertAtMostOnce(out, upstream);
      record(proto + " reload x2 under load: " + summary);
      List<Outcome> failed = out.stream().filter(o -> !o.ok()).toList();
      assertQuiet(pool);
      if (proto.http2) {
        // GOAWAY tells the client which streams the old worker will finish: nothing may fail.
        assertThat(failed).as("calls failed by a graceful reload: " + summary).isEmpty();
        return;
      }
      // HTTP/1.1: an old worker answers its last request with "Connection: keep-alive" and closes
      // right after. A call written on that connection in between fails as "may have been
      // processed" although nginx never read it (see finding 7). Nothing else may fail.
      Map<String, Long> seen = upstreamCounts(upstream);
      for (Outcome o : failed) {
        assertThat(o.error()).isInstanceOf(ConnectionLostException.class);
        assertThat(o.error().getMessage())
            .contains("after the request was sent, before any response");
        assertThat(seen.getOrDefault(o.id(), 0L)).as("the upstream never saw " + o.id()).isZero();
      }
      Findings.tolerate(
          "finding 7",
          !failed.isEmpty(),
          failed.size()
              + " of "
              + out.size()
              + " calls failed as 'may have been processed' though"
              + " nginx never read them: "
              + summary);
    }
  }

  @ParameterizedTest
  @EnumSource(Proto.class)
  void fastStopUnderLoadEndsEveryCallCleanly(Proto proto) throws Exception {
    try (NodeServer upstream = NodeServer.h1();
        Nginx nginx = Nginx.start(config().upstream(upstream));
        LlmPool pool = poolFor(proto, nginx).limits(Interop.perHost(8)).build()) {
      AtomicInteger done = new AtomicInteger();
      ExecutorService signals = Executors.newSingleThreadExecutor();
      Future<?> stop =
          signals.submit(
              () -> {
                Interop.until("calls in flight", BOUND, () -> done.get() >= 40);
                nginx.stopFast();
              });
      List<Outcome> out = runCallers(pool, 8, 15, "/up/slow?ms=100", done);
      stop.get(30, TimeUnit.SECONDS);
      signals.shutdown();
      String summary = assertAtMostOnce(out, upstream);
      record(proto + " fast stop under load: " + summary);
      for (Outcome o : out) {
        if (!o.ok()) {
          LlmPoolException e = o.error();
          // A TLS handshake cut by the stop is a TlsException (see finding 11).
          assertThat(e)
              .isInstanceOfAny(
                  ConnectFailedException.class, ConnectionLostException.class, TlsException.class);
          if (e instanceof TlsException) {
            assertThat(e.requestMayHaveBeenProcessed()).isFalse();
          }
          assertNamesOrigin(e, nginx.origin(proto));
        }
      }
      assertThat(out.stream().filter(o -> !o.ok()).count()).as("calls after the stop").isPositive();
      assertQuiet(pool);
    }
  }

  // ---- helpers ----

  static List<Outcome> runCallers(LlmPool pool, int callers, int callsEach, String path)
      throws Exception {
    return runCallers(pool, callers, callsEach, path, new AtomicInteger());
  }

  /** {@code callers} threads each make {@code callsEach} calls one after another. */
  static List<Outcome> runCallers(
      LlmPool pool, int callers, int callsEach, String path, AtomicInteger done) throws Exception {
    ExecutorService exec = Executors.newFixedThreadPool(callers);
    try {
      List<Future<List<Outcome>>> futures = new ArrayList<>();
      for (int c = 0; c < callers; c++) {
        futures.add(
            exec.submit(
                () -> {
                  List<Outcome> mine = new ArrayList<>();
                  for (int i = 0; i < callsEach; i++) {
                    mine.add(call(pool, HttpRequest.get(path)));
                    done.incrementAndGet();
                  }
                  return mine;
                }));
      }
      List<Outcome> all = new ArrayList<>();
      for (Future<List<Outcome>> f : futures) {
        all.addAll(f.get(60, TimeUnit.SECONDS));
      }
      return all;
    } finally {
      exec.shutdownNow();
    }
  }

  /** Every call was processed by the upstream exactly once. */
  static void assertExactlyOnce(List<Outcome> out, NodeServer upstream) {
    Map<String, Long> seen = upstreamCounts(upstream);
    List<String> wrong =
        out.stream()
            .filter(o -> seen.getOrDefault(o.id(), 0L) != 1)
            .map(o -> o.id() + " x" + seen.getOrDefault(o.id(), 0L))
            .toList();
    assertThat(wrong).as("calls the upstream did not process exactly once").isEmpty();
  }

  /**
   * At most once, and "may have been processed" exact: a successful call reached the upstream once;
   * a call that failed as not processed never reached it; none reached it twice.
   */
  static String assertAtMostOnce(List<Outcome> out, NodeServer upstream) {
    Map<String, Long> seen = upstreamCounts(upstream);
    List<String> violations = new ArrayList<>();
    Map<String, Long> kinds =
        out.stream()
            .collect(
                Collectors.groupingBy(
                    o ->
                        o.ok()
                            ? "ok"
                            : o.error().getClass().getSimpleName()
                                + (o.error().requestMayHaveBeenProcessed()
                                    ? "(maybe processed)"
                                    : "(not processed)"),
                    Collectors.counting()));
    for (Outcome o : out) {
      long n = seen.getOrDefault(o.id(), 0L);
      if (n > 1) {
        violations.add(o.id() + " reached the upstream " + n + " times: " + o);
      } else if (o.ok() && n != 1) {
        violations.add(o.id() + " succeeded but reached the upstream " + n + " times");
      } else if (!o.ok() && !o.error().requestMayHaveBeenProcessed() && n != 0) {
        violations.add(o.id() + " said 'not processed' but the upstream processed it: " + o);
      }
    }
    assertThat(violations).as("at-most-once / may-have-been-processed violations").isEmpty();
    return new java.util.TreeMap<>(kinds).toString();
  }

  private static Map<String, Long> upstreamCounts(NodeServer upstream) {
    return upstream.requests().stream()
        .filter(r -> r.hasNonNull("callId"))
        .collect(Collectors.groupingBy(r -> r.get("callId").asText(), Collectors.counting()));
  }

  static final List<String> OBSERVED = Collections.synchronizedList(new ArrayList<>());

  /** Notes what a scenario observed, for docs/interop.md (printed in the test output). */
  static void record(String line) {
    OBSERVED.add(line);
    System.out.println("[interop] " + line);
  }
}
