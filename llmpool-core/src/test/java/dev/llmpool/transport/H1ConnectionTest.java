package dev.llmpool.transport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.llmpool.ConnectFailedException;
import dev.llmpool.ConnectionLostException;
import dev.llmpool.HttpProtocolException;
import dev.llmpool.Origin;
import dev.llmpool.Phase;
import dev.llmpool.ReadTimeoutException;
import dev.llmpool.Timeouts;
import dev.llmpool.TotalTimeoutException;
import dev.llmpool.pool.Connection;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The HTTP/1.1 connection over real sockets, against scripted servers that misbehave on purpose.
 */
class H1ConnectionTest {
  private static final Duration WAIT = Duration.ofSeconds(20);

  private NettyTransport transport;
  private ScriptedServer server;

  private NettyTransport transport(Timeouts timeouts) {
    transport =
        new NettyTransport(
            TransportSettings.builder()
                .timeouts(timeouts)
                .ioThreads(1)
                .defaultHeader("User-Agent", "llmpool-test")
                .build());
    return transport;
  }

  private NettyTransport transport() {
    return transport(Timeouts.DEFAULTS);
  }

  @AfterEach
  void tearDown() throws Exception {
    if (transport != null) {
      transport.close();
      transport.terminated().get(10, TimeUnit.SECONDS);
    }
    if (server != null) {
      server.close();
      assertThat(server.errors()).as("server script errors").isEmpty();
    }
  }

  private Origin origin() {
    return new Origin("http", "127.0.0.1", server.port());
  }

  private NettyConnection open(RecordingConnectionListener l) throws Exception {
    Connection c = transport.open(origin(), l, null).get(WAIT.toSeconds(), TimeUnit.SECONDS);
    assertThat(c.isMultiplexed()).isFalse();
    return (NettyConnection) c;
  }

  private static TestExchange.Result run(NettyConnection c, TestExchange ex) throws Exception {
    c.start(ex);
    return ex.end.get(WAIT.toSeconds(), TimeUnit.SECONDS);
  }

  @Test
  void aKeptAliveConnectionCarriesExchangesOneAfterAnother() throws Exception {
    List<String> seen = new CopyOnWriteArrayList<>();
    server =
        new ScriptedServer(
            p -> {
              ScriptedServer.Request r;
              while ((r = p.readRequest()) != null) {
                seen.add(p.index + " " + r.requestLine());
                p.respond("hello " + seen.size());
              }
            });
    transport();
    NettyConnection c = open(new RecordingConnectionListener());
    for (int i = 1; i <= 3; i++) {
      TestExchange ex = TestExchange.get("/v1/x?i=" + i);
      TestExchange.Result r = run(c, ex);
      assertThat(r.failure()).isNull();
      assertThat(r.reusable()).isTrue();
      assertThat(ex.bodyText()).isEqualTo("hello " + i);
    }
    assertThat(seen)
        .containsExactly(
            "0 GET /v1/x?i=1 HTTP/1.1", "0 GET /v1/x?i=2 HTTP/1.1", "0 GET /v1/x?i=3 HTTP/1.1");
    assertThat(server.accepted()).isEqualTo(1);
  }

  @Test
  void requestCarriesHostDefaultHeadersAndBody() throws Exception {
    List<ScriptedServer.Request> seen = new CopyOnWriteArrayList<>();
    server =
        new ScriptedServer(
            p -> {
              ScriptedServer.Request r = p.readRequest();
              seen.add(r);
              p.respond("ok");
            });
    transport();
    NettyConnection c = open(new RecordingConnectionListener());
    byte[] body = "{\"a\":1}".getBytes(StandardCharsets.UTF_8);
    TestExchange ex = new TestExchange("POST", "/chat", body, Long.MAX_VALUE / 2);
    ex.header("x-trace", "t1");
    assertThat(run(c, ex).failure()).isNull();
    String head = seen.get(0).head();
    assertThat(head)
        .startsWith("POST /chat HTTP/1.1\r\n")
        .contains("Host: 127.0.0.1:" + server.port() + "\r\n")
        .contains("User-Agent: llmpool-test\r\n")
        .contains("x-trace: t1\r\n")
        .contains("Content-Type: application/json\r\n")
        .contains("Content-Length: 7\r\n");
    assertThat(seen.get(0).body()).isEqualTo("{\"a\":1}");
  }

  @Test
  void aRequestHeaderReplacesTheDefaultOfTheSameName() throws Exception {
    List<ScriptedServer.Request> seen = new CopyOnWriteArrayList<>();
    server =
        new ScriptedServer(
            p -> {
              seen.add(p.readRequest());
              p.respond("ok");
            });
    transport();
    NettyConnection c = open(new RecordingConnectionListener());
    assertThat(run(c, TestExchange.get("/").header("user-agent", "mine")).failure()).isNull();
    assertThat(seen.get(0).head()).contains("user-agent: mine\r\n").doesNotContain("llmpool-test");
  }

  @Test
  void connectionCloseRetiresTheConnectionAfterTheResponse() throws Exception {
    server =
        new ScriptedServer(
            p -> {
              p.readRequest();
              p.respond(200, "bye", "Connection: close\r\n");
              p.awaitClientClose();
            });
    transport();
    RecordingConnectionListener l = new RecordingConnectionListener();
    NettyConnection c = open(l);
    TestExchange ex = TestExchange.get("/");
    TestExchange.Result r = run(c, ex);
    assertThat(r.failure()).isNull();
    assertThat(r.reusable()).isFalse();
    assertThat(ex.bodyText()).isEqualTo("bye");
    l.noNew.get(10, TimeUnit.SECONDS);
    l.closed.get(10, TimeUnit.SECONDS);
    assertThat(c.isHealthy()).isFalse();
    assertThat(c.maxConcurrentExchanges()).isZero();
  }

  @Test
  void keepAliveTimeoutIsReportedToThePool() throws Exception {
    server =
        new ScriptedServer(
            p -> {
              p.readRequest();
              p.respond(200, "x", "Keep-Alive: timeout=5, max=1000\r\n");
              p.awaitClientClose();
            });
    transport();
    NettyConnection c = open(new RecordingConnectionListener());
    assertThat(c.serverIdleTimeoutNanos()).isEqualTo(Long.MAX_VALUE);
    assertThat(run(c, TestExchange.get("/")).reusable()).isTrue();
    assertThat(c.serverIdleTimeoutNanos()).isEqualTo(TimeUnit.SECONDS.toNanos(5));
  }

  @Test
  void aServerClosingAnIdleConnectionIsReportedAndTheConnectionRefusesNewExchanges()
      throws Exception {
    CountDownLatch answered = new CountDownLatch(1);
    server =
        new ScriptedServer(
            p -> {
              p.readRequest();
              p.respond("one");
              answered.await();
              p.close();
            });
    transport();
    RecordingConnectionListener l = new RecordingConnectionListener();
    NettyConnection c = open(l);
    assertThat(run(c, TestExchange.get("/")).reusable()).isTrue();
    answered.countDown();
    l.closed.get(10, TimeUnit.SECONDS);
    assertThat(c.isHealthy()).isFalse();
    TestExchange.Result r = run(c, TestExchange.get("/"));
    assertThat(r.failure()).isInstanceOf(ConnectionLostException.class);
    assertThat(r.failure().requestMayHaveBeenProcessed())
        .as("never sent: safe to re-send")
        .isFalse();
  }

  @Test
  void aConnectionClosedAfterTheRequestWithoutAnswerMayHaveProcessedIt() throws Exception {
    server =
        new ScriptedServer(
            p -> {
              p.readRequest();
              p.close();
            });
    transport();
    NettyConnection c = open(new RecordingConnectionListener());
    TestExchange.Result r = run(c, TestExchange.get("/"));
    assertThat(r.failure())
        .isInstanceOf(ConnectionLostException.class)
        .hasMessageContaining("before any response")
        .hasMessageContaining("may have processed");
    assertThat(r.failure().requestMayHaveBeenProcessed()).isTrue();
    assertThat(r.failure().phase()).isEqualTo(Phase.READ);
    assertThat(r.reusable()).isFalse();
  }

  @Test
  void aTruncatedBodyFailsAndSaysHowMuchArrived() throws Exception {
    server =
        new ScriptedServer(
            p -> {
              p.readRequest();
              p.write("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this");
              p.close();
            });
    transport();
    NettyConnection c = open(new RecordingConnectionListener());
    TestExchange ex = TestExchange.get("/");
    TestExchange.Result r = run(c, ex);
    assertThat(ex.head.getNow(-1)).isEqualTo(200);
    assertThat(r.failure())
        .isInstanceOf(ConnectionLostException.class)
        .hasMessageContaining("got 9 of 100 bytes");
    assertThat(r.failure().requestMayHaveBeenProcessed()).isTrue();
  }

  @Test
  void aBodyDelimitedByCloseEndsCleanly() throws Exception {
    server =
        new ScriptedServer(
            p -> {
              p.readRequest();
              p.write("HTTP/1.1 200 OK\r\n\r\nuntil the end");
              p.close();
            });
    transport();
    NettyConnection c = open(new RecordingConnectionListener());
    TestExchange ex = TestExchange.get("/");
    TestExchange.Result r = run(c, ex);
    assertThat(r.failure()).isNull();
    assertThat(r.reusable()).isFalse();
    assertThat(ex.bodyText()).isEqualTo("until the end");
  }

  @Test
  void garbageIsAProtocolErrorAndClosesTheConnection() throws Exception {
    server =
        new ScriptedServer(
            p -> {
              p.readRequest();
              p.write("SSH-2.0-OpenSSH_9.6\r\n\r\n");
              p.awaitClientClose();
            });
    transport();
    RecordingConnectionListener l = new RecordingConnectionListener();
    NettyConnection c = open(l);
    TestExchange.Result r = run(c, TestExchange.get("/"));
    assertThat(r.failure())
        .isInstanceOf(HttpProtocolException.class)
        .hasMessageContaining("malformed status line");
    assertThat(r.reusable()).isFalse();
    l.closed.get(10, TimeUnit.SECONDS);
  }

  @Test
  void aStalledResponseEndsWithAReadTimeout() throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    server =
        new ScriptedServer(
            p -> {
              p.readRequest();
              p.write("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
              release.await();
            });
    transport(Timeouts.builder().read(Duration.ofMillis(300)).build());
    NettyConnection c = open(new RecordingConnectionListener());
    TestExchange.Result r = run(c, TestExchange.get("/"));
    release.countDown();
    assertThat(r.failure())
        .isInstanceOf(ReadTimeoutException.class)
        .hasMessageContaining("timeouts.read (PT0.3S)")
        .hasMessageContaining("origin=http://127.0.0.1:" + server.port());
    assertThat(r.failure().requestMayHaveBeenProcessed()).isTrue();
    assertThat(r.reusable()).isFalse();
  }

  @Test
  void theTotalDeadlineEndsAnExchangeThatKeepsTrickling() throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    server =
        new ScriptedServer(
            p -> {
              p.readRequest();
              p.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
              while (release.getCount() > 0) {
                p.write("1\r\nx\r\n");
                release.await(50, TimeUnit.MILLISECONDS);
              }
            });
    transport();
    NettyConnection c = open(new RecordingConnectionListener());
    long deadline = transport.settings().ticker().nanoTime() + Duration.ofMillis(400).toNanos();
    TestExchange ex = new TestExchange("GET", "/", null, deadline);
    TestExchange.Result r = run(c, ex);
    release.countDown();
    assertThat(r.failure()).isInstanceOf(TotalTimeoutException.class);
    assertThat(ex.bodyText()).startsWith("x");
  }

  @Test
  void aSlowReaderStopsTheConnectionReadingInsteadOfBuffering() throws Exception {
    int total = 8 * 1024 * 1024;
    server =
        new ScriptedServer(
            p -> {
              p.readRequest();
              p.write("HTTP/1.1 200 OK\r\nContent-Length: " + total + "\r\n\r\n");
              byte[] chunk = new byte[64 * 1024];
              for (int sent = 0; sent < total; sent += chunk.length) {
                p.write(chunk);
              }
              p.readRequest();
            });
    transport();
    NettyConnection c = open(new RecordingConnectionListener());
    TestExchange ex = TestExchange.get("/").autoAck(false);
    c.start(ex);
    ex.head.get(10, TimeUnit.SECONDS);
    // The reader takes nothing: the connection must stop reading once its read-ahead is full.
    long until = System.nanoTime() + WAIT.toNanos();
    while (c.channel.config().isAutoRead()) {
      assertThat(System.nanoTime()).as("reading never paused").isLessThan(until);
      Thread.onSpinWait();
    }
    long buffered = ex.received.size();
    assertThat(buffered).isLessThan(total).isLessThan(H1Connection.HIGH_WATER + 1024 * 1024L);
    // Once the reader catches up, the rest arrives.
    while (!ex.end.isDone()) {
      if (ex.held > 0) {
        ex.ackHeld();
      }
      Thread.onSpinWait();
    }
    assertThat(ex.end.get().failure()).isNull();
    assertThat(ex.received.size()).isEqualTo(total);
  }

  @Test
  void aResponseSentBeforeTheWholeRequestIsDeliveredAndTheConnectionNotReused() throws Exception {
    server =
        new ScriptedServer(
            p -> {
              p.readHead();
              p.respond(413, "too big", "");
              p.awaitClientClose();
            });
    transport();
    NettyConnection c = open(new RecordingConnectionListener());
    byte[] body = new byte[32 * 1024 * 1024];
    TestExchange ex = new TestExchange("POST", "/upload", body, Long.MAX_VALUE / 2);
    TestExchange.Result r = run(c, ex);
    assertThat(r.failure()).isNull();
    assertThat(ex.head.get()).isEqualTo(413);
    assertThat(ex.bodyText()).isEqualTo("too big");
    assertThat(r.reusable()).isFalse();
  }

  @Test
  void aRefusedConnectNamesTheAddress() throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    transport();
    Origin o = new Origin("http", "127.0.0.1", port);
    var f = transport.open(o, new RecordingConnectionListener(), null);
    assertThat(f)
        .failsWithin(WAIT)
        .withThrowableThat()
        .havingCause()
        .isInstanceOf(ConnectFailedException.class)
        .withMessageContaining("127.0.0.1:" + port)
        .withMessageContaining("phase=connect");
  }

  // ---- Interop findings (docs/interop.md) ----

  private static void until(String what, java.util.function.BooleanSupplier condition) {
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (!condition.getAsBoolean()) {
      assertThat(System.nanoTime()).as(what).isLessThan(deadline);
      java.util.concurrent.locks.LockSupport.parkNanos(1_000_000L);
    }
  }

  @Test
  void aBodyToTheEndOfTheConnectionCutByAResetIsAFailureNotAResponse() throws Exception {
    // Finding 5: without Content-Length or chunking the body ends with the connection; a clean
    // close (FIN) ends it, a reset cuts it short.
    CountDownLatch bodyArrived = new CountDownLatch(1);
    server =
        new ScriptedServer(
            p -> {
              p.readRequest();
              p.write("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\npartial");
              bodyArrived.await();
              p.reset();
            });
    transport();
    NettyConnection c = open(new RecordingConnectionListener());
    TestExchange ex = TestExchange.get("/");
    c.start(ex);
    until("the first body bytes arrived", () -> ex.received.size() > 0);
    bodyArrived.countDown();
    TestExchange.Result r = ex.end.get(WAIT.toSeconds(), TimeUnit.SECONDS);
    assertThat(r.failure())
        .isInstanceOf(ConnectionLostException.class)
        .hasMessageContaining("before the response body was complete");
    assertThat(r.failure().requestMayHaveBeenProcessed()).isTrue();
    assertThat(r.reusable()).isFalse();
  }

  @Test
  void aBodyToTheEndOfTheConnectionEndedByACleanCloseIsAResponse() throws Exception {
    server =
        new ScriptedServer(
            p -> {
              p.readRequest();
              p.write("HTTP/1.1 200 OK\r\n\r\nwhole body");
              p.close();
            });
    transport();
    NettyConnection c = open(new RecordingConnectionListener());
    TestExchange ex = TestExchange.get("/");
    TestExchange.Result r = run(c, ex);
    assertThat(r.failure()).isNull();
    assertThat(ex.bodyText()).isEqualTo("whole body");
  }

  @Test
  void aReaderHoldingDataIsNotAReadTimeout() throws Exception {
    // Finding 3: the reader holds more than the read-ahead limit, so the connection stopped
    // reading and the server waits on TCP; the reader pauses for several read timeouts, then reads
    // on: no ReadTimeoutException, the body arrives whole.
    int total = 4 * 1024 * 1024;
    server =
        new ScriptedServer(
            p -> {
              p.readRequest();
              p.write("HTTP/1.1 200 OK\r\nContent-Length: " + total + "\r\n\r\n");
              byte[] chunk = new byte[64 * 1024];
              for (int sent = 0; sent < total; sent += chunk.length) {
                p.write(chunk);
              }
            });
    transport(Timeouts.builder().read(Duration.ofMillis(200)).build());
    NettyConnection c = open(new RecordingConnectionListener());
    TestExchange ex = TestExchange.get("/").autoAck(false);
    c.start(ex);
    until("the reader holds the read-ahead", () -> ex.held > H1Connection.HIGH_WATER);
    // The reader is busy for five read timeouts.
    assertThatThrownBy(() -> ex.end.get(1, TimeUnit.SECONDS))
        .isInstanceOf(java.util.concurrent.TimeoutException.class);
    ex.resumeReading();
    TestExchange.Result r = ex.end.get(WAIT.toSeconds(), TimeUnit.SECONDS);
    assertThat(r.failure()).isNull();
    assertThat(ex.received.size()).isEqualTo(total);
  }

  @Test
  void aReaderThatTookEverythingIsTimedOutWhenTheServerFallsSilent() throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    server =
        new ScriptedServer(
            p -> {
              p.readRequest();
              p.write("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc");
              release.await();
            });
    transport(Timeouts.builder().read(Duration.ofMillis(300)).build());
    NettyConnection c = open(new RecordingConnectionListener());
    TestExchange ex = TestExchange.get("/").autoAck(false);
    c.start(ex);
    until("the reader holds the bytes", () -> ex.held == 3);
    ex.resumeReading();
    TestExchange.Result r = ex.end.get(WAIT.toSeconds(), TimeUnit.SECONDS);
    release.countDown();
    assertThat(r.failure()).isInstanceOf(ReadTimeoutException.class);
    assertThat(r.failure().requestMayHaveBeenProcessed()).isTrue();
  }
}
