package dev.llmpool.transport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.llmpool.ConnectionLostException;
import dev.llmpool.Origin;
import dev.llmpool.ReadTimeoutException;
import dev.llmpool.Timeouts;
import dev.llmpool.time.ManualTicker;
import dev.llmpool.time.Ticker;
import io.netty.handler.codec.http2.Http2Error;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The HTTP/2 connection over real sockets (h2c), against a server scripted frame by frame. */
class H2ConnectionTest {
  private static final long WAIT_S = 20;

  private NettyTransport transport;
  private H2TestServer server;

  private void transport(Timeouts timeouts, Ticker ticker) {
    transport =
        new NettyTransport(
            TransportSettings.builder()
                .timeouts(timeouts)
                .ticker(ticker)
                .ioThreads(1)
                .h2cPriorKnowledge("127.0.0.1")
                .defaultHeader("User-Agent", "llmpool-test")
                .build());
  }

  private void transport() {
    transport(Timeouts.DEFAULTS, Ticker.system());
  }

  @AfterEach
  void tearDown() throws Exception {
    if (transport != null) {
      transport.close();
      transport.terminated().get(10, TimeUnit.SECONDS);
    }
    if (server != null) {
      server.close();
    }
  }

  private NettyConnection open(RecordingConnectionListener l) throws Exception {
    NettyConnection c =
        (NettyConnection)
            transport
                .open(new Origin("http", "127.0.0.1", server.port()), l, null)
                .get(WAIT_S, TimeUnit.SECONDS);
    assertThat(c.isMultiplexed()).isTrue();
    assertThat(c.protocol()).isEqualTo("HTTP/2");
    return c;
  }

  private static TestExchange.Result await(TestExchange ex) throws Exception {
    return ex.end.get(WAIT_S, TimeUnit.SECONDS);
  }

  @Test
  void theConnectionIsHandedOverOnlyOnceThePeerStatedItsStreamLimit() throws Exception {
    server = new H2TestServer(7, s -> s.respond("ok"));
    transport();
    RecordingConnectionListener l = new RecordingConnectionListener();
    NettyConnection c = open(l);
    assertThat(c.maxConcurrentExchanges()).isEqualTo(7);
    TestExchange ex = TestExchange.get("/a");
    c.start(ex);
    assertThat(await(ex).failure()).isNull();
    assertThat(l.capacities).as("no change after hand-over").isEmpty();
  }

  @Test
  void h2cPriorKnowledgeToAnHttp1ServerFailsToConnectWithAHint() throws Exception {
    try (ScriptedServer h1 =
        new ScriptedServer(
            p -> {
              p.write("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
              p.close();
            })) {
      transport();
      var f =
          transport.open(
              new Origin("http", "127.0.0.1", h1.port()), new RecordingConnectionListener(), null);
      assertThat(f)
          .failsWithin(java.time.Duration.ofSeconds(WAIT_S))
          .withThrowableThat()
          .havingCause()
          .isInstanceOf(dev.llmpool.ConnectFailedException.class)
          .withMessageContaining("h2c prior knowledge");
    }
  }

  @Test
  void manyExchangesShareOneConnectionAtOnce() throws Exception {
    CountDownLatch all = new CountDownLatch(20);
    List<H2TestServer.Stream> held = new ArrayList<>();
    server =
        new H2TestServer(
            100,
            s -> {
              held.add(s);
              all.countDown();
              if (held.size() == 20) {
                for (H2TestServer.Stream h : held) {
                  h.respond("r" + h.path());
                }
              }
            });
    transport();
    RecordingConnectionListener l = new RecordingConnectionListener();
    NettyConnection c = open(l);
    TestExchange first = TestExchange.get("/warm");
    List<TestExchange> exs = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      TestExchange ex = TestExchange.get("/" + i);
      exs.add(ex);
      c.start(ex);
    }
    for (int i = 0; i < 20; i++) {
      TestExchange.Result r = await(exs.get(i));
      assertThat(r.failure()).isNull();
      assertThat(r.reusable()).isTrue();
      assertThat(exs.get(i).bodyText()).isEqualTo("r/" + i);
    }
    assertThat(server.connections.get()).isEqualTo(1);
    assertThat(server.peakStreams.get()).isEqualTo(20);
    assertThat(first.end).isNotDone();
  }

  @Test
  void requestsStartedInOneTurnLeaveEachWithItsBodyRightBehindItsHeaders() throws Exception {
    server = new H2TestServer(100, s -> s.respond("ok"));
    transport();
    NettyConnection c = open(new RecordingConnectionListener());
    List<TestExchange> exs = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      exs.add(
          new TestExchange(
              "POST", "/" + i, ("body " + i).getBytes(StandardCharsets.UTF_8), Long.MAX_VALUE / 2));
    }
    // Started in one event-loop turn, as the calls that one read completes start theirs.
    c.loop.execute(() -> exs.forEach(c::start));
    for (TestExchange ex : exs) {
      assertThat(await(ex).failure()).isNull();
    }
    // A server can start each request as soon as it has read it, not after the last HEADERS.
    List<String> frames = List.copyOf(server.frames);
    assertThat(frames).hasSize(8);
    for (int i = 0; i < 8; i += 2) {
      String stream = frames.get(i).substring("HEADERS ".length());
      assertThat(frames.get(i)).as(frames.toString()).startsWith("HEADERS ");
      assertThat(frames.get(i + 1)).as(frames.toString()).isEqualTo("DATA " + stream);
    }
  }

  @Test
  void streamsBeyondThePeerLimitWaitForASlotInsteadOfFailing() throws Exception {
    server = new H2TestServer(2, s -> s.respond(s.path() + " " + s.body));
    transport();
    NettyConnection c = open(new RecordingConnectionListener());
    // Learn the limit first, then overcommit on purpose.
    TestExchange warm = TestExchange.get("/warm");
    c.start(warm);
    await(warm);
    List<TestExchange> exs = new ArrayList<>();
    for (int i = 0; i < 10; i++) {
      // Odd calls carry a body: the waiting ones keep their own headers and body.
      TestExchange ex =
          i % 2 == 0
              ? TestExchange.get("/" + i)
              : new TestExchange(
                  "POST",
                  "/" + i,
                  ("body " + i).getBytes(StandardCharsets.UTF_8),
                  Long.MAX_VALUE / 2);
      exs.add(ex);
      c.start(ex);
    }
    for (int i = 0; i < 10; i++) {
      assertThat(await(exs.get(i)).failure()).isNull();
      assertThat(exs.get(i).bodyText()).isEqualTo("/" + i + " " + (i % 2 == 0 ? "" : "body " + i));
    }
    assertThat(server.peakStreams.get()).isLessThanOrEqualTo(2);
    H2Connection h2 = (H2Connection) c;
    assertThat(c.loop.submit(h2::bufferedRequests).get(WAIT_S, TimeUnit.SECONDS)).isPositive();
  }

  @Test
  void aCallStartedAsAnotherEndsAtTheStreamLimitTakesTheFreedStreamWithoutWaitingInABuffer()
      throws Exception {
    // Two streams allowed, two calls in flight; each end starts the next call from its callback
    // (as a steady stream of calls does). The ended stream still counts until the decoder closes
    // it, so a request written at once would wait in the buffering encoder; it waits for the end
    // of the read instead, and every call goes out and completes in order.
    server = new H2TestServer(2, s -> s.respond(s.path() + " " + s.body));
    transport();
    NettyConnection c = open(new RecordingConnectionListener());
    H2Connection h2 = (H2Connection) c;
    int total = 40;
    List<TestExchange> exs = new java.util.concurrent.CopyOnWriteArrayList<>();
    java.util.concurrent.atomic.AtomicInteger next =
        new java.util.concurrent.atomic.AtomicInteger();
    CountDownLatch done = new CountDownLatch(total);
    Runnable[] lane = new Runnable[1];
    lane[0] =
        () -> {
          int i = next.getAndIncrement();
          if (i >= total) {
            return;
          }
          TestExchange ex =
              new TestExchange(
                  "POST",
                  "/" + i,
                  ("body " + i).getBytes(StandardCharsets.UTF_8),
                  Long.MAX_VALUE / 2);
          exs.add(ex);
          var unused =
              ex.end.whenComplete(
                  (r, e) -> {
                    done.countDown();
                    lane[0].run(); // on the event loop, inside the read that ended the call
                  });
          c.start(ex);
        };
    c.loop.execute(
        () -> {
          lane[0].run();
          lane[0].run();
        });
    assertThat(done.await(WAIT_S, TimeUnit.SECONDS)).isTrue();
    for (TestExchange ex : exs) {
      TestExchange.Result r = await(ex);
      assertThat(r.failure()).isNull();
      assertThat(ex.bodyText()).startsWith(ex.target() + " body ");
    }
    assertThat(exs).hasSize(total);
    assertThat(server.peakStreams.get()).isLessThanOrEqualTo(2);
    assertThat(c.loop.submit(h2::bufferedRequests).get(WAIT_S, TimeUnit.SECONDS)).isZero();
  }

  @Test
  void aRefusedStreamWasNotProcessedAndItsSlotIsReused() throws Exception {
    server = new H2TestServer(100, s -> s.reset(Http2Error.REFUSED_STREAM));
    transport();
    NettyConnection c = open(new RecordingConnectionListener());
    TestExchange ex = TestExchange.get("/");
    c.start(ex);
    TestExchange.Result r = await(ex);
    assertThat(r.failure())
        .isInstanceOf(ConnectionLostException.class)
        .hasMessageContaining("REFUSED_STREAM");
    assertThat(r.failure().requestMayHaveBeenProcessed()).isFalse();
    assertThat(r.reusable()).isTrue();
    assertThat(c.isHealthy()).isTrue();
  }

  @Test
  void goAwayFinishesStreamsUpToTheLastIdAndMarksTheOthersNotProcessed() throws Exception {
    List<H2TestServer.Stream> held = new ArrayList<>();
    server =
        new H2TestServer(
            100,
            s -> {
              held.add(s);
              if (held.size() == 3) {
                // The first two streams are processed; the third is not.
                held.get(0).goAway(held.get(1).id);
                held.get(0).respond("one");
                held.get(1).respond("two");
              }
            });
    transport();
    RecordingConnectionListener l = new RecordingConnectionListener();
    NettyConnection c = open(l);
    List<TestExchange> exs = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      TestExchange ex = TestExchange.get("/" + i);
      exs.add(ex);
      c.start(ex);
    }
    TestExchange.Result r2 = await(exs.get(2));
    assertThat(r2.failure())
        .isInstanceOf(ConnectionLostException.class)
        .hasMessageContaining("GOAWAY");
    assertThat(r2.failure().requestMayHaveBeenProcessed()).isFalse();
    assertThat(await(exs.get(0)).failure()).isNull();
    assertThat(await(exs.get(1)).failure()).isNull();
    assertThat(exs.get(1).bodyText()).isEqualTo("two");
    l.noNew.get(WAIT_S, TimeUnit.SECONDS);
    assertThat(c.maxConcurrentExchanges()).isZero();
    l.closed.get(WAIT_S, TimeUnit.SECONDS);
    TestExchange late = TestExchange.get("/late");
    c.start(late);
    assertThat(await(late).failure().requestMayHaveBeenProcessed()).isFalse();
  }

  @Test
  void aTcpCloseRightAfterGoAwayKeepsCompletedStreamsAndLeavesTheRestSendable() throws Exception {
    List<H2TestServer.Stream> held = new ArrayList<>();
    server =
        new H2TestServer(
            100,
            s -> {
              held.add(s);
              if (held.size() == 3) {
                held.get(0).respond("one");
                held.get(1).respond("two");
                held.get(0).goAway(held.get(1).id);
                held.get(0).closeConnection();
              }
            });
    transport();
    NettyConnection c = open(new RecordingConnectionListener());
    List<TestExchange> exs = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      TestExchange ex = TestExchange.get("/" + i);
      exs.add(ex);
      c.start(ex);
    }
    assertThat(await(exs.get(0)).failure()).isNull();
    assertThat(await(exs.get(1)).failure()).isNull();
    TestExchange.Result r = await(exs.get(2));
    assertThat(r.failure()).isInstanceOf(ConnectionLostException.class);
    assertThat(r.failure().requestMayHaveBeenProcessed()).isFalse();
  }

  @Test
  void aCompleteResponseFollowedByResetNoErrorIsASuccess() throws Exception {
    server =
        new H2TestServer(
            100,
            s -> {
              s.respond(200, "done", true);
              s.reset(Http2Error.NO_ERROR);
            });
    transport();
    NettyConnection c = open(new RecordingConnectionListener());
    TestExchange ex =
        new TestExchange(
            "POST",
            "/x",
            "{\"p\":1}".getBytes(java.nio.charset.StandardCharsets.UTF_8),
            Long.MAX_VALUE / 2);
    c.start(ex);
    TestExchange.Result r = await(ex);
    assertThat(r.failure()).isNull();
    assertThat(ex.bodyText()).isEqualTo("done");
    // The connection carries on.
    TestExchange next = TestExchange.get("/next");
    c.start(next);
    assertThat(await(next).failure()).isNull();
  }

  @Test
  void aBodyBiggerThanTheServersWindowLeavesAsTheWindowOpens() throws Exception {
    // Each stream starts with a 1,000-byte window: the 50 KB body leaves in pieces as the
    // server's WINDOW_UPDATEs allow and arrives whole, in order, once; the connection goes on.
    List<String> bodies = new java.util.concurrent.CopyOnWriteArrayList<>();
    server =
        new H2TestServer(
            100,
            s -> {
              bodies.add(s.body);
              s.respond("got " + s.body.length());
            });
    server.initialWindowSize = 1_000;
    transport();
    NettyConnection c = open(new RecordingConnectionListener());
    StringBuilder sb = new StringBuilder();
    for (int i = 0; sb.length() < 50_000; i++) {
      sb.append(i).append(',');
    }
    String body = sb.toString();
    TestExchange ex =
        new TestExchange(
            "POST", "/big", body.getBytes(StandardCharsets.US_ASCII), Long.MAX_VALUE / 2);
    c.start(ex);
    TestExchange.Result r = await(ex);
    assertThat(r.failure()).isNull();
    assertThat(ex.bodyText()).isEqualTo("got " + body.length());
    assertThat(bodies).containsExactly(body);
    assertThat(server.frames.stream().filter(f -> f.startsWith("DATA ")).count())
        .as("DATA frames no larger than the window")
        .isGreaterThanOrEqualTo(50);
    TestExchange next =
        new TestExchange(
            "POST", "/small", "hi".getBytes(StandardCharsets.US_ASCII), Long.MAX_VALUE / 2);
    c.start(next);
    assertThat(await(next).failure()).isNull();
    assertThat(bodies).containsExactly(body, "hi");
    assertThat(server.connections.get()).isEqualTo(1);
  }

  @Test
  void aStreamResetWhileItsBodyWaitsForTheWindowFailsThatCallOnly() throws Exception {
    // No window for any stream, and each stream with a body to come is reset at its HEADERS: the
    // body never leaves, the call fails naming the reset, and the connection carries the next
    // call (one without a body, which needs no window).
    server = new H2TestServer(100, s -> s.respond("ok"));
    server.initialWindowSize = 0;
    server.resetBeforeBody = Http2Error.INTERNAL_ERROR;
    transport();
    NettyConnection c = open(new RecordingConnectionListener());
    TestExchange ex =
        new TestExchange(
            "POST", "/x", "{\"p\":1}".getBytes(StandardCharsets.UTF_8), Long.MAX_VALUE / 2);
    c.start(ex);
    TestExchange.Result r = await(ex);
    assertThat(r.failure())
        .isInstanceOf(ConnectionLostException.class)
        .hasMessageContaining("INTERNAL_ERROR");
    assertThat(server.frames).noneMatch(f -> f.startsWith("DATA "));
    assertThat(c.isHealthy()).isTrue();
    TestExchange next = TestExchange.get("/next");
    c.start(next);
    assertThat(await(next).failure()).isNull();
    assertThat(next.bodyText()).isEqualTo("ok");
    assertThat(server.connections.get()).isEqualTo(1);
  }

  @Test
  void aStreamResetMidBodyFailsAndMayHaveBeenProcessed() throws Exception {
    server =
        new H2TestServer(
            100,
            s -> {
              s.respond(200, "partial", false);
              s.reset(Http2Error.INTERNAL_ERROR);
            });
    transport();
    NettyConnection c = open(new RecordingConnectionListener());
    TestExchange ex = TestExchange.get("/");
    c.start(ex);
    TestExchange.Result r = await(ex);
    assertThat(r.failure())
        .isInstanceOf(ConnectionLostException.class)
        .hasMessageContaining("INTERNAL_ERROR");
    assertThat(r.failure().requestMayHaveBeenProcessed()).isTrue();
    assertThat(r.reusable()).isTrue();
  }

  @Test
  void aStalledStreamTimesOutAloneAndTheConnectionCarriesOn() throws Exception {
    server =
        new H2TestServer(
            100,
            s -> {
              if (s.path().equals("/stall")) {
                s.respondHeadersOnly();
              } else {
                s.respond("ok");
              }
            });
    transport(Timeouts.builder().read(Duration.ofMillis(300)).build(), Ticker.system());
    NettyConnection c = open(new RecordingConnectionListener());
    TestExchange stalled = TestExchange.get("/stall");
    c.start(stalled);
    TestExchange.Result r = await(stalled);
    assertThat(r.failure()).isInstanceOf(ReadTimeoutException.class);
    assertThat(r.reusable()).isTrue();
    TestExchange next = TestExchange.get("/fine");
    c.start(next);
    assertThat(await(next).failure()).isNull();
    assertThat(server.connections.get()).isEqualTo(1);
  }

  @Test
  void cancellingAnExchangeResetsItsStream() throws Exception {
    CountDownLatch arrived = new CountDownLatch(1);
    server =
        new H2TestServer(
            100,
            s -> {
              s.respondHeadersOnly();
              arrived.countDown();
            });
    transport();
    NettyConnection c = open(new RecordingConnectionListener());
    TestExchange ex = TestExchange.get("/");
    c.start(ex);
    assertThat(arrived.await(WAIT_S, TimeUnit.SECONDS)).isTrue();
    ex.head.get(WAIT_S, TimeUnit.SECONDS);
    ex.cancel();
    TestExchange.Result r = await(ex);
    assertThat(r.failure()).hasMessageContaining("cancelled");
    assertThat(r.reusable()).isTrue();
    long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT_S);
    while (server.resetsReceived.get() == 0) {
      assertThat(System.nanoTime()).as("server saw the reset").isLessThan(until);
      Thread.onSpinWait();
    }
  }

  @Test
  void aLongIdleConnectionIsCheckedWithAPingBeforeReuse() throws Exception {
    server = new H2TestServer(100, s -> s.respond("ok"));
    ManualTicker ticker = new ManualTicker();
    transport(Timeouts.DEFAULTS, ticker);
    NettyConnection c = open(new RecordingConnectionListener());
    TestExchange one = TestExchange.get("/1");
    c.start(one);
    assertThat(await(one).failure()).isNull();
    assertThat(server.pings.get()).isZero();
    ticker.advance(TransportSettings.DEFAULT_PING_AFTER_IDLE.plusSeconds(1));
    TestExchange two = TestExchange.get("/2");
    c.start(two);
    assertThat(await(two).failure()).isNull();
    assertThat(server.pings.get()).isEqualTo(1);
  }

  @Test
  void anIdleConnectionThatDoesNotAnswerThePingIsClosedAndTheExchangeIsSendableElsewhere()
      throws Exception {
    server = new H2TestServer(100, s -> s.respond("ok"));
    transport =
        new NettyTransport(
            TransportSettings.builder()
                .timeouts(Timeouts.builder().connect(Duration.ofMillis(200)).build())
                .pingAfterIdle(Duration.ofMillis(2))
                .ioThreads(1)
                .h2cPriorKnowledge("127.0.0.1")
                .build());
    RecordingConnectionListener l = new RecordingConnectionListener();
    NettyConnection c = open(l);
    TestExchange one = TestExchange.get("/1");
    c.start(one);
    assertThat(await(one).failure()).isNull();
    server.answerPings = false;
    // Let the connection be idle for longer than pingAfterIdle (2 ms).
    long idleFrom = System.nanoTime();
    while (System.nanoTime() - idleFrom < TimeUnit.MILLISECONDS.toNanos(5)) {
      Thread.onSpinWait();
    }
    int pingsBefore = server.pings.get();
    TestExchange two = TestExchange.get("/2");
    c.start(two);
    TestExchange.Result r = await(two);
    assertThat(server.pings.get()).isEqualTo(pingsBefore + 1);
    assertThat(r.failure()).hasMessageContaining("PING");
    assertThat(r.failure().requestMayHaveBeenProcessed()).isFalse();
    l.closed.get(WAIT_S, TimeUnit.SECONDS);
    assertThat(server.paths).containsExactly("/1");
  }

  @Test
  void aConnectionLostAfterTheRequestWasSentMayHaveProcessedIt() throws Exception {
    server = new H2TestServer(100, H2TestServer.Stream::closeConnection);
    transport();
    NettyConnection c = open(new RecordingConnectionListener());
    TestExchange ex = TestExchange.get("/");
    c.start(ex);
    TestExchange.Result r = await(ex);
    assertThat(r.failure()).isInstanceOf(ConnectionLostException.class);
    assertThat(r.failure().requestMayHaveBeenProcessed()).isTrue();
  }

  @Test
  void responseHeadersAreDeliveredWithoutPseudoHeaders() throws Exception {
    ConcurrentHashMap<String, String> seen = new ConcurrentHashMap<>();
    server =
        new H2TestServer(
            100,
            s -> {
              seen.put("ua", String.valueOf(s.headers.get("user-agent")));
              seen.put("authority", String.valueOf(s.headers.authority()));
              seen.put("x", String.valueOf(s.headers.get("x-trace")));
              s.respond("ok");
            });
    transport();
    NettyConnection c = open(new RecordingConnectionListener());
    TestExchange ex = TestExchange.get("/h").header("x-trace", "t1");
    c.start(ex);
    assertThat(await(ex).failure()).isNull();
    assertThat(ex.responseHeaders).containsExactly("content-length", "2");
    assertThat(seen)
        .containsEntry("ua", "llmpool-test")
        .containsEntry("authority", "127.0.0.1:" + server.port())
        .containsEntry("x", "t1");
  }

  @Test
  void headersThatChangeFromCallToCallAreSentAndReadAfreshOnOneConnection() throws Exception {
    List<String> seen = java.util.Collections.synchronizedList(new ArrayList<>());
    server =
        new H2TestServer(
            100,
            s -> {
              seen.add(
                  s.headers.method()
                      + " "
                      + s.path()
                      + " "
                      + s.headers.get("content-type")
                      + " "
                      + s.headers.get("content-length")
                      + " "
                      + s.headers.get("x-n")
                      + " "
                      + s.body);
              s.respond("r".repeat(1 + s.body.length()));
            });
    transport();
    NettyConnection c = open(new RecordingConnectionListener());
    String[] bodies = {"{}", "{}", "{\"a\":1}", "{}"};
    String[] paths = {"/a", "/a", "/b", "/a"};
    for (int i = 0; i < bodies.length; i++) {
      TestExchange ex =
          new TestExchange(
                  i == 1 ? "PUT" : "POST",
                  paths[i],
                  bodies[i].getBytes(StandardCharsets.UTF_8),
                  Long.MAX_VALUE / 2)
              .header("x-n", Integer.toString(i));
      c.start(ex);
      assertThat(await(ex).failure()).as("call %d", i).isNull();
      String length = Integer.toString(1 + bodies[i].length());
      assertThat(ex.responseHeaders).as("call %d", i).containsExactly("content-length", length);
      assertThat(ex.bodyText()).isEqualTo("r".repeat(1 + bodies[i].length()));
    }
    assertThat(seen)
        .containsExactly(
            "POST /a application/json 2 0 {}",
            "PUT /a application/json 2 1 {}",
            "POST /b application/json 7 2 {\"a\":1}",
            "POST /a application/json 2 3 {}");
    assertThat(server.connections.get()).isEqualTo(1);
  }

  @Test
  void aSlowReaderHoldsTheServerToTheStreamWindowWithoutBlockingOtherStreams() throws Exception {
    int window = 256 * 1024;
    String big = "x".repeat(8 * 1024 * 1024);
    server = new H2TestServer(100, s -> s.respond(s.path().equals("/big") ? big : "ok"));
    transport =
        new NettyTransport(
            TransportSettings.builder()
                .ioThreads(1)
                .h2cPriorKnowledge("127.0.0.1")
                .h2Windows(window, 4 * 1024 * 1024)
                .build());
    NettyConnection c = open(new RecordingConnectionListener());
    TestExchange ex = TestExchange.get("/big").autoAck(false);
    c.start(ex);
    ex.head.get(WAIT_S, TimeUnit.SECONDS);
    // The reader takes nothing: the server may send one stream window, then must wait.
    long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT_S);
    while (ex.received.size() < window) {
      assertThat(System.nanoTime()).isLessThan(until);
      Thread.onSpinWait();
    }
    // Another stream on the same connection still gets through, and the big one got no more.
    TestExchange other = TestExchange.get("/small");
    c.start(other);
    assertThat(await(other).failure()).isNull();
    assertThat(ex.received.size()).isEqualTo(window);
    assertThat(ex.end).isNotDone();
    // As the reader catches up, the window opens again and the rest arrives.
    while (!ex.end.isDone()) {
      if (ex.held > 0) {
        ex.ackHeld();
      }
      Thread.onSpinWait();
    }
    assertThat(ex.end.get().failure()).isNull();
    assertThat(ex.received.size()).isEqualTo(big.length());
  }

  // ---- Interop findings (docs/interop.md) ----

  private static void until(String what, java.util.function.BooleanSupplier condition) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT_S);
    while (!condition.getAsBoolean()) {
      assertThat(System.nanoTime()).as(what).isLessThan(deadline);
      java.util.concurrent.locks.LockSupport.parkNanos(1_000_000L);
    }
  }

  @Test
  void idleGoAwaysDoNotTeachAStreamsPerConnectionBudget() throws Exception {
    // Finding 2: nginx closes idle HTTP/2 connections with GOAWAY(NO_ERROR) naming the last
    // stream; two of those after one call each must not make every later connection one-stream.
    server = new H2TestServer(100, s -> s.respond("ok"));
    transport();
    Origin origin = new Origin("http", "127.0.0.1", server.port());
    for (int round = 0; round < 3; round++) {
      NettyConnection c = open(new RecordingConnectionListener());
      TestExchange ex = TestExchange.get("/" + round);
      c.start(ex);
      assertThat(await(ex).failure()).isNull();
      server.goAwayEveryConnection();
      until("the idle GOAWAY arrived", () -> !c.isHealthy());
    }
    assertThat(transport.budget(origin).limit()).isEqualTo(Integer.MAX_VALUE);
  }

  @Test
  void goAwaysWhileStreamsAreInFlightStillTeachTheBudget() throws Exception {
    // The counterpart of finding 2: a server that sends GOAWAY as the N-th stream arrives
    // (nginx's keepalive_requests, Envoy) is still recognised after two such GOAWAYs.
    server = new H2TestServer(100, s -> s.respond("ok"));
    server.goAwayOnHeadersOf = 2;
    transport();
    Origin origin = new Origin("http", "127.0.0.1", server.port());
    for (int round = 0; round < 2; round++) {
      NettyConnection c = open(new RecordingConnectionListener());
      for (int i = 0; i < 2; i++) {
        TestExchange ex = TestExchange.get("/" + round + "/" + i);
        c.start(ex);
        assertThat(await(ex).failure()).isNull();
      }
    }
    assertThat(transport.budget(origin).limit()).isEqualTo(2);
  }

  @Test
  void aReaderHoldingDataIsNotAReadTimeout() throws Exception {
    // Finding 3: the stream's window is full because the reader holds 1 MiB; it pauses for many
    // read timeouts, then reads on: no ReadTimeoutException, the body arrives whole.
    String big = "x".repeat(3_000_000);
    server = new H2TestServer(100, s -> s.respond(200, big, true));
    transport(Timeouts.builder().read(Duration.ofMillis(200)).build(), Ticker.system());
    NettyConnection c = open(new RecordingConnectionListener());
    TestExchange ex = TestExchange.get("/big").autoAck(false);
    c.start(ex);
    until("the reader holds a window's worth", () -> ex.held >= 512 * 1024);
    // The reader is busy for five read timeouts; the server waits on the window.
    assertThatThrownBy(() -> ex.end.get(1, TimeUnit.SECONDS))
        .isInstanceOf(java.util.concurrent.TimeoutException.class);
    ex.resumeReading();
    assertThat(await(ex).failure()).isNull();
    assertThat(ex.received.size()).isEqualTo(big.length());
  }

  @Test
  void aReaderThatTookEverythingIsTimedOutWhenTheServerFallsSilent() throws Exception {
    // The read timeout still guards a reader waiting for bytes: after the pause it runs again.
    server = new H2TestServer(100, s -> s.respond(200, "x".repeat(100_000), false));
    transport(Timeouts.builder().read(Duration.ofMillis(300)).build(), Ticker.system());
    NettyConnection c = open(new RecordingConnectionListener());
    TestExchange ex = TestExchange.get("/stall").autoAck(false);
    c.start(ex);
    until("the reader holds the bytes", () -> ex.held == 100_000);
    ex.resumeReading();
    TestExchange.Result r = await(ex);
    assertThat(r.failure()).isInstanceOf(ReadTimeoutException.class);
    assertThat(r.failure().requestMayHaveBeenProcessed()).isTrue();
  }

  @Test
  void headAndNoContentAndNotModifiedHaveNoBodyWhateverTheirContentLength() throws Exception {
    // Finding 6: RFC 9110 §8.6. Over HTTP/2 the Content-Length of such a response is not a body
    // size (a HEAD of a 16 MiB file must not look like a 16 MiB body).
    server =
        new H2TestServer(
            100,
            s -> {
              String status =
                  switch (s.path()) {
                    case "/204" -> "204";
                    case "/304" -> "304";
                    default -> "200";
                  };
              if (s.path().equals("/get")) {
                s.respond("ok");
                return;
              }
              s.respondHeaders(
                  new io.netty.handler.codec.http2.DefaultHttp2Headers()
                      .status(status)
                      .setLong("content-length", 16L * 1024 * 1024),
                  true);
            });
    transport();
    NettyConnection c = open(new RecordingConnectionListener());
    TestExchange head = new TestExchange("HEAD", "/file", null, Long.MAX_VALUE / 2);
    TestExchange noContent = TestExchange.get("/204");
    TestExchange notModified = TestExchange.get("/304");
    TestExchange get = TestExchange.get("/get");
    for (TestExchange ex : List.of(head, noContent, notModified, get)) {
      c.start(ex);
      assertThat(await(ex).failure()).isNull();
    }
    assertThat(head.contentLengthAtHead).isEqualTo(-1);
    assertThat(noContent.contentLengthAtHead).isEqualTo(-1);
    assertThat(notModified.contentLengthAtHead).isEqualTo(-1);
    assertThat(get.contentLengthAtHead).isEqualTo(2);
    assertThat(server.connections.get()).isEqualTo(1);
  }

  @Test
  void requestHeadersOverTheServersLimitFailAtOnceNamingTheLimit() throws Exception {
    // Finding 8: the server announced SETTINGS_MAX_HEADER_LIST_SIZE; a request over it is never
    // sent (no stream is used), and the failure says why.
    server = new H2TestServer(100, s -> s.respond("ok"));
    server.maxHeaderListSize = 4096;
    transport();
    NettyConnection c = open(new RecordingConnectionListener());
    TestExchange big = TestExchange.get("/big").header("x-big", "v".repeat(10_000));
    c.start(big);
    TestExchange.Result r = await(big);
    assertThat(r.failure())
        .isInstanceOf(dev.llmpool.HttpProtocolException.class)
        .hasMessageContaining("SETTINGS_MAX_HEADER_LIST_SIZE (4096 bytes)")
        .hasMessageContaining("not sent")
        .hasMessageNotContaining("vvvv");
    assertThat(r.failure().requestMayHaveBeenProcessed()).isFalse();
    assertThat(r.reusable()).isTrue();
    TestExchange next = TestExchange.get("/next");
    c.start(next);
    assertThat(await(next).failure()).isNull();
    assertThat(server.paths).containsExactly("/next");
  }

  @Test
  void aGoAwaysErrorCodeAndDebugDataAreInTheFailure() throws Exception {
    // Finding 12: nginx answers a too-large header with GOAWAY(ENHANCE_YOUR_CALM) and closes.
    server =
        new H2TestServer(
            100,
            s -> {
              s.goAway(
                  s.id,
                  Http2Error.ENHANCE_YOUR_CALM,
                  "too large\r\nheader".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
              s.closeConnection();
            });
    transport();
    NettyConnection c = open(new RecordingConnectionListener());
    TestExchange ex = TestExchange.get("/");
    c.start(ex);
    TestExchange.Result r = await(ex);
    assertThat(r.failure())
        .isInstanceOf(ConnectionLostException.class)
        .hasMessageContaining("GOAWAY ENHANCE_YOUR_CALM")
        .hasMessageContaining("debug data \"too large??header\"");
    assertThat(r.failure().requestMayHaveBeenProcessed()).isTrue();
  }

  @Test
  void goAwayDebugDataIsBoundedAndPrintable() {
    byte[] raw = new byte[1000];
    java.util.Arrays.fill(raw, (byte) 'a');
    raw[0] = 0x1b;
    raw[1] = (byte) 0xc3;
    String s = H2Connection.sanitisedDebugData(io.netty.buffer.Unpooled.wrappedBuffer(raw));
    assertThat(s).startsWith("??aaa").endsWith("...").hasSizeLessThanOrEqualTo(203);
    assertThat(s.chars()).allMatch(ch -> ch >= 0x20 && ch < 0x7f);
  }
}
