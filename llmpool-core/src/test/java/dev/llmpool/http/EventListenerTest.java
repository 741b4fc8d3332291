package dev.llmpool.http;

import static dev.llmpool.http.Calls.chat;
import static dev.llmpool.http.Calls.chatStream;
import static dev.llmpool.http.Calls.newId;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.llmpool.ConnectFailedException;
import dev.llmpool.EventListener;
import dev.llmpool.Limits;
import dev.llmpool.LlmPool;
import dev.llmpool.LlmPoolException;
import dev.llmpool.PoolTimeoutException;
import dev.llmpool.Timeouts;
import dev.llmpool.testkit.Fault;
import dev.llmpool.testkit.MockLlmServer;
import dev.llmpool.testkit.Reply;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Every event the listener declares, in order, at the right moment: over HTTP/1.1, HTTPS, h2c and
 * h2; on new, reused, pre-warmed and waited-for connections; for streamed bodies, retries, failed
 * connects, pool timeouts and cancelled calls; and for a per-call listener beside the pool's.
 */
class EventListenerTest {

  /** Records event names (and a detail or two). */
  static final class Recorder implements EventListener {
    final List<String> events = new CopyOnWriteArrayList<>();

    @Override
    public void callStart(CallInfo call) {
      events.add("callStart " + call.method() + " " + call.path());
    }

    @Override
    public void dnsStart(CallInfo call, String host) {
      events.add("dnsStart");
    }

    @Override
    public void dnsEnd(CallInfo call, String host, List<InetAddress> a, boolean cached) {
      events.add("dnsEnd");
    }

    @Override
    public void connectStart(CallInfo call, InetSocketAddress address) {
      events.add("connectStart");
    }

    @Override
    public void connectEnd(CallInfo call, InetSocketAddress address) {
      events.add("connectEnd");
    }

    @Override
    public void tlsStart(CallInfo call) {
      events.add("tlsStart");
    }

    @Override
    public void tlsEnd(CallInfo call, String protocol, String cipher, @Nullable String alpn) {
      events.add("tlsEnd " + alpn);
    }

    @Override
    public void connectionAcquired(
        CallInfo call, ConnectionInfo c, boolean reused, long waitedNanos) {
      events.add("connectionAcquired reused=" + reused + " " + c.protocol());
    }

    @Override
    public void connectionReleased(CallInfo call, ConnectionInfo c) {
      events.add("connectionReleased");
    }

    @Override
    public void requestHeadersEnd(CallInfo call) {
      events.add("requestHeadersEnd");
    }

    @Override
    public void requestBodyEnd(CallInfo call, long bytes) {
      events.add("requestBodyEnd");
    }

    @Override
    public void responseHeadersEnd(CallInfo call, int status) {
      events.add("responseHeadersEnd " + status);
    }

    @Override
    public void responseBodyEnd(CallInfo call, long bytes) {
      events.add("responseBodyEnd");
    }

    @Override
    public void retry(CallInfo call, String reason, Duration delay, int attempt) {
      events.add("retry " + attempt);
    }

    @Override
    public void callEnd(CallInfo call) {
      events.add("callEnd");
    }

    @Override
    public void callFailed(CallInfo call, LlmPoolException error) {
      events.add("callFailed");
    }
  }

  @Test
  void aCallOnANewTlsConnectionThenOnTheSameOne() {
    Recorder r = new Recorder();
    try (MockLlmServer server = Proto.H2.server().build().start();
        LlmPool pool = Proto.H2.pool(server).eventListener(r).build()) {
      pool.send(chat(newId()).build());
      assertThat(r.events)
          .containsExactly(
              "callStart POST /v1/chat/completions",
              "connectStart",
              "connectEnd",
              "tlsStart",
              "tlsEnd h2",
              "connectionAcquired reused=false HTTP/2",
              "requestHeadersEnd",
              "requestBodyEnd",
              "responseHeadersEnd 200",
              "responseBodyEnd",
              "connectionReleased",
              "callEnd");
      r.events.clear();
      pool.send(chat(newId()).build());
      assertThat(r.events)
          .containsExactly(
              "callStart POST /v1/chat/completions",
              "connectionAcquired reused=true HTTP/2",
              "requestHeadersEnd",
              "requestBodyEnd",
              "responseHeadersEnd 200",
              "responseBodyEnd",
              "connectionReleased",
              "callEnd");
    }
  }

  @Test
  void aRefusedStreamShowsItsRetryAndAFailureEndsWithCallFailed() {
    Recorder pooled = new Recorder();
    Recorder perCall = new Recorder();
    try (MockLlmServer server = Proto.H2C.server().build().start();
        LlmPool pool = Proto.H2C.pool(server).eventListener(pooled).build()) {
      server.enqueue(Reply.fault(Fault.REFUSE_STREAM));
      pool.send(chat(newId()).listener(perCall).build());
      assertThat(pooled.events).contains("retry 2").endsWith("callEnd");
      assertThat(perCall.events).isEqualTo(pooled.events);

      pooled.events.clear();
      assertThatThrownBy(() -> pool.send(chat(newId(), Fault.DISCONNECT_AFTER_REQUEST).build()))
          .isInstanceOf(LlmPoolException.class);
      assertThat(pooled.events).last().isEqualTo("callFailed");
      assertThat(pooled.events).doesNotContain("callEnd", "responseBodyEnd");
    }
  }

  @Test
  void aThrowingListenerIsIgnored() {
    EventListener broken =
        new EventListener() {
          @Override
          public void callStart(CallInfo call) {
            throw new IllegalStateException("listener bug");
          }
        };
    try (MockLlmServer server = Proto.HTTP_1_1.server().build().start();
        LlmPool pool = Proto.HTTP_1_1.pool(server).eventListener(broken).build()) {
      assertThat(pool.send(chat(newId()).build()).status()).isEqualTo(200);
    }
  }

  /** Records every event with the call's id and the values a metrics layer relies on. */
  static final class Detailed implements EventListener {
    final List<String> events = new CopyOnWriteArrayList<>();
    final List<Long> waits = new CopyOnWriteArrayList<>();
    final List<LlmPoolException> failures = new CopyOnWriteArrayList<>();

    private void add(CallInfo call, String e) {
      events.add(call.id() + " " + e);
    }

    /** The events of one call, without its id. */
    List<String> of(long id) {
      List<String> out = new ArrayList<>();
      for (String e : events) {
        if (e.startsWith(id + " ")) {
          out.add(e.substring(e.indexOf(' ') + 1));
        }
      }
      return out;
    }

    @Override
    public void callStart(CallInfo call) {
      add(call, "callStart " + call.method() + " " + call.origin().scheme());
    }

    @Override
    public void dnsStart(CallInfo call, String host) {
      add(call, "dnsStart " + host);
    }

    @Override
    public void dnsEnd(CallInfo call, String host, List<InetAddress> a, boolean cached) {
      add(call, "dnsEnd " + host + " cached=" + cached + " found=" + !a.isEmpty());
    }

    @Override
    public void connectStart(CallInfo call, InetSocketAddress address) {
      add(call, "connectStart");
    }

    @Override
    public void connectEnd(CallInfo call, InetSocketAddress address) {
      add(call, "connectEnd");
    }

    @Override
    public void connectFailed(CallInfo call, InetSocketAddress address, LlmPoolException error) {
      add(call, "connectFailed " + error.getClass().getSimpleName());
    }

    @Override
    public void tlsStart(CallInfo call) {
      add(call, "tlsStart");
    }

    @Override
    public void tlsEnd(CallInfo call, String protocol, String cipher, @Nullable String alpn) {
      add(call, "tlsEnd " + protocol.startsWith("TLSv1.") + " " + !cipher.isEmpty() + " " + alpn);
    }

    @Override
    public void connectionAcquired(
        CallInfo call, ConnectionInfo c, boolean reused, long waitedNanos) {
      waits.add(waitedNanos);
      add(
          call,
          "connectionAcquired reused="
              + reused
              + " "
              + c.protocol()
              + " remote="
              + (c.remoteAddress() != null));
    }

    @Override
    public void connectionReleased(CallInfo call, ConnectionInfo c) {
      add(call, "connectionReleased");
    }

    @Override
    public void requestHeadersEnd(CallInfo call) {
      add(call, "requestHeadersEnd");
    }

    @Override
    public void requestBodyEnd(CallInfo call, long bytes) {
      add(call, "requestBodyEnd " + bytes);
    }

    @Override
    public void responseHeadersEnd(CallInfo call, int status) {
      add(call, "responseHeadersEnd " + status);
    }

    @Override
    public void responseBodyEnd(CallInfo call, long bytes) {
      add(call, "responseBodyEnd " + bytes);
    }

    @Override
    public void retry(CallInfo call, String reason, Duration delay, int attempt) {
      add(call, "retry " + attempt);
    }

    @Override
    public void callEnd(CallInfo call) {
      add(call, "callEnd");
    }

    @Override
    public void callFailed(CallInfo call, LlmPoolException error) {
      add(call, "callFailed " + error.getClass().getSimpleName());
      failures.add(error); // last: tests wait on it
    }
  }

  private static String body(HttpResponse r) {
    return r.bodyString();
  }

  @ParameterizedTest
  @EnumSource(Proto.class)
  void everyProtocolReportsANewConnectionThenAReusedOneWithItsBytes(Proto proto) {
    Detailed r = new Detailed();
    try (MockLlmServer server = proto.server().build().start();
        LlmPool pool = proto.pool(server).eventListener(r).build()) {
      HttpRequest req = chat(newId()).build();
      int sent = requestBytes(req);
      HttpResponse first = pool.send(req);
      String version = proto.http2 ? "HTTP/2" : "HTTP/1.1";
      String scheme = proto.tls ? "https" : "http";
      List<String> expected = new ArrayList<>();
      expected.add("callStart POST " + scheme);
      expected.add("connectStart");
      expected.add("connectEnd");
      if (proto.tls) {
        expected.add("tlsStart");
        expected.add("tlsEnd true true " + (proto.http2 ? "h2" : "http/1.1"));
      }
      expected.add("connectionAcquired reused=false " + version + " remote=true");
      expected.add("requestHeadersEnd");
      expected.add("requestBodyEnd " + sent);
      expected.add("responseHeadersEnd 200");
      expected.add("responseBodyEnd " + body(first).getBytes(StandardCharsets.UTF_8).length);
      expected.add("connectionReleased");
      expected.add("callEnd");
      assertThat(r.of(1)).containsExactlyElementsOf(expected);

      HttpRequest req2 = chat(newId()).build();
      HttpResponse second = pool.send(req2);
      assertThat(r.of(2))
          .containsExactly(
              "callStart POST " + scheme,
              "connectionAcquired reused=true " + version + " remote=true",
              "requestHeadersEnd",
              "requestBodyEnd " + requestBytes(req2),
              "responseHeadersEnd 200",
              "responseBodyEnd " + body(second).getBytes(StandardCharsets.UTF_8).length,
              "connectionReleased",
              "callEnd");
      Calls.assertCleanAndAtMostOnce(pool, server);
    }
  }

  private static int requestBytes(HttpRequest req) {
    return req.bodyLength();
  }

  @Test
  void dnsIsReportedForAHostNameAndThenAnsweredFromTheCache() {
    Detailed r = new Detailed();
    try (MockLlmServer server = Proto.HTTP_1_1.server().build().start();
        LlmPool pool =
            LlmPool.builder()
                .baseUrl("http://localhost:" + server.port() + "/v1")
                .bearerToken("sk-test")
                .http2(false)
                .eventListener(r)
                .ioThreads(1)
                .build()) {
      // The first call holds its connection, so the second opens another: one lookup, one hit.
      StreamingResponse held = pool.stream(chat(newId(), Fault.STALL_AFTER_HEADERS).build());
      pool.send(chat(newId()).build());
      held.close();
      assertThat(r.of(1)).startsWith("callStart POST http", "dnsStart localhost");
      assertThat(r.of(1)).contains("dnsEnd localhost cached=false found=true");
      assertThat(r.of(2)).startsWith("callStart POST http", "dnsStart localhost");
      assertThat(r.of(2)).contains("dnsEnd localhost cached=true found=true");
      // dns before connect, connect before the connection is acquired
      List<String> two = r.of(2);
      assertThat(two.indexOf("dnsEnd localhost cached=true found=true"))
          .isLessThan(two.lastIndexOf("connectEnd"));
      assertThat(two.lastIndexOf("connectEnd"))
          .isLessThan(two.indexOf("connectionAcquired reused=false HTTP/1.1 remote=true"));
    }
  }

  @Test
  void aFailedConnectIsReportedAndTheCallFailsWithoutAConnection() throws Exception {
    int closedPort;
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      closedPort = s.getLocalPort();
    }
    Detailed r = new Detailed();
    try (LlmPool pool =
        LlmPool.builder()
            .baseUrl("http://127.0.0.1:" + closedPort + "/v1")
            .http2(false)
            .eventListener(r)
            .ioThreads(1)
            .build()) {
      assertThatThrownBy(() -> pool.send(chat(newId()).build()))
          .isInstanceOf(ConnectFailedException.class);
      assertThat(r.of(1))
          .containsExactly(
              "callStart POST http",
              "connectStart",
              "connectFailed ConnectFailedException",
              "callFailed ConnectFailedException");
    }
  }

  @Test
  void aStreamedBodyEndsWithBodyEndThenReleaseThenCallEnd() throws Exception {
    Detailed r = new Detailed();
    try (MockLlmServer server = Proto.H2C.server().build().start();
        LlmPool pool = Proto.H2C.pool(server).eventListener(r).build()) {
      try (StreamingResponse s = pool.stream(chatStream(newId()).build())) {
        assertThat(r.of(1)).contains("responseHeadersEnd 200");
        // The body's end is when its last byte arrived, which may be before the reader got it.
        byte[] all = s.readAll();
        Waits.until(() -> r.of(1).contains("callEnd"));
        assertThat(r.of(1))
            .endsWith(
                "responseHeadersEnd 200",
                "responseBodyEnd " + all.length,
                "connectionReleased",
                "callEnd");
      }
    }
  }

  @Test
  void aCallThatWaitedForAConnectionSaysHowLong() throws Exception {
    Detailed r = new Detailed();
    try (MockLlmServer server = Proto.HTTP_1_1.server().build().start();
        LlmPool pool =
            Proto.HTTP_1_1
                .pool(server)
                .limits(Limits.builder().maxConnections(1).build())
                .eventListener(r)
                .build()) {
      StreamingResponse held = pool.stream(chat(newId(), Fault.STALL_AFTER_HEADERS).build());
      CompletableFuture<HttpResponse> waiting = pool.sendAsync(chat(newId()).build());
      Waits.until(() -> pool.stats().pending() == 1);
      held.close(); // unread body: the connection is discarded, the waiting call opens a new one
      assertThat(waiting.get(20, TimeUnit.SECONDS).status()).isEqualTo(200);
      assertThat(r.of(2)).contains("connectionAcquired reused=false HTTP/1.1 remote=true");
      // The first call's wait is its own connect; the second waited for the first to end.
      assertThat(r.waits.get(1)).as("the second call waited").isPositive();
      Calls.assertCleanAndAtMostOnce(pool, server);
    }
  }

  @Test
  void aPoolTimeoutEndsWithCallFailedAndNoConnectionEvent() throws Exception {
    Detailed r = new Detailed();
    try (MockLlmServer server = Proto.HTTP_1_1.server().build().start();
        LlmPool pool =
            Proto.HTTP_1_1
                .pool(server)
                .limits(Limits.builder().maxConnections(1).build())
                .timeouts(Timeouts.builder().pool(Duration.ofMillis(200)).build())
                .eventListener(r)
                .build()) {
      pool.prewarm(1).get(20, TimeUnit.SECONDS); // the holding call must not wait for a connect
      try (StreamingResponse held = pool.stream(chat(newId(), Fault.STALL_AFTER_HEADERS).build())) {
        assertThatThrownBy(() -> pool.send(chat(newId()).build()))
            .isInstanceOf(PoolTimeoutException.class);
        assertThat(r.of(2))
            .containsExactly("callStart POST http", "callFailed PoolTimeoutException");
        assertThat(held.status()).isEqualTo(200);
      }
    }
  }

  @Test
  void aCancelledCallEndsWithCallFailed() throws Exception {
    Detailed r = new Detailed();
    try (MockLlmServer server = Proto.H2C.server().build().start();
        LlmPool pool = Proto.H2C.pool(server).eventListener(r).build()) {
      CompletableFuture<HttpResponse> f =
          pool.sendAsync(chat(newId(), Fault.STALL_AFTER_HEADERS).build());
      Waits.until(() -> r.of(1).contains("responseHeadersEnd 200"));
      f.cancel(true);
      Waits.until(() -> !r.failures.isEmpty());
      assertThat(r.of(1)).endsWith("connectionReleased", "callFailed CallCancelledException");
      assertThat(r.failures.get(0)).hasMessageContaining("cancelled");
      assertThat(r.of(1)).doesNotContain("callEnd");

      // A streamed response closed before its end is a cancellation too, over HTTP/1.1 as well.
      try (MockLlmServer h1 = Proto.HTTP_1_1.server().build().start();
          LlmPool pool1 = Proto.HTTP_1_1.pool(h1).eventListener(r).build()) {
        r.events.clear();
        StreamingResponse s = pool1.stream(chat(newId(), Fault.STALL_AFTER_HEADERS).build());
        s.close();
        Waits.until(() -> r.failures.size() == 2);
        assertThat(r.of(1)).last().isEqualTo("callFailed CallCancelledException");
        assertThat(r.failures.get(1).requestMayHaveBeenProcessed()).isTrue();
      }
    }
  }

  @Test
  void aPerCallListenerHearsItsOwnCallBesideThePoolsListener() {
    Detailed pooled = new Detailed();
    Detailed perCall = new Detailed();
    try (MockLlmServer server = Proto.HTTP_1_1.server().build().start();
        LlmPool pool = Proto.HTTP_1_1.pool(server).eventListener(pooled).build()) {
      pool.send(chat(newId()).build());
      pool.send(chat(newId()).listener(perCall).build());
      pool.send(chat(newId()).build());
      assertThat(perCall.of(1)).isEmpty();
      assertThat(perCall.of(3)).isEmpty();
      assertThat(perCall.of(2)).isNotEmpty().isEqualTo(pooled.of(2));
      assertThat(perCall.events).allMatch(e -> e.startsWith("2 "));

      // A per-call listener alone, without a pool listener, hears everything too.
      Detailed alone = new Detailed();
      try (LlmPool bare = Proto.HTTP_1_1.pool(server).build()) {
        bare.send(chat(newId()).listener(alone).build());
      }
      assertThat(alone.of(1)).first().isEqualTo("callStart POST http");
      assertThat(alone.of(1)).last().isEqualTo("callEnd");
      assertThat(alone.of(1)).contains("connectStart", "connectEnd");
    }
  }

  @Test
  void aPrewarmedConnectionReportsToThePoolListenerAsCallZero() throws Exception {
    Detailed r = new Detailed();
    try (MockLlmServer server = Proto.H2.server().build().start();
        LlmPool pool = Proto.H2.pool(server).eventListener(r).build()) {
      pool.prewarm(1).get(20, TimeUnit.SECONDS);
      assertThat(r.of(0))
          .containsExactly("connectStart", "connectEnd", "tlsStart", "tlsEnd true true h2");
      pool.send(chat(newId()).build());
      assertThat(r.of(1)).doesNotContain("connectStart").contains("requestHeadersEnd");
      assertThat(pool.stats().opened()).isEqualTo(1);
    }
  }

  @Test
  void anErrorStatusIsAResponseNotAFailure() {
    Detailed r = new Detailed();
    try (MockLlmServer server = Proto.H2C.server().build().start();
        LlmPool pool = Proto.H2C.pool(server).eventListener(r).build()) {
      server.enqueue(Reply.error(429));
      assertThat(pool.send(chat(newId()).build()).status()).isEqualTo(429);
      assertThat(r.of(1)).contains("responseHeadersEnd 429").last().isEqualTo("callEnd");
    }
  }

  @Test
  void aFailureAfterTheRequestWasSentReportsNoBodyEnd() throws Exception {
    Detailed r = new Detailed();
    try (MockLlmServer server = Proto.HTTP_1_1.server().build().start();
        LlmPool pool = Proto.HTTP_1_1.pool(server).eventListener(r).build()) {
      assertThatThrownBy(() -> pool.send(chat(newId(), Fault.TRUNCATE_BODY).build()))
          .isInstanceOf(LlmPoolException.class);
      assertThat(r.of(1))
          .contains("responseHeadersEnd 200", "connectionReleased")
          .doesNotContain("callEnd")
          .noneMatch(e -> e.startsWith("responseBodyEnd"));
      assertThat(r.of(1)).last().asString().startsWith("callFailed");
    }
  }
}
