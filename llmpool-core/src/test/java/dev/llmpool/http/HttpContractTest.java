package dev.llmpool.http;

import static dev.llmpool.http.Calls.assertCleanAndAtMostOnce;
import static dev.llmpool.http.Calls.chat;
import static dev.llmpool.http.Calls.chatStream;
import static dev.llmpool.http.Calls.newId;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.llmpool.ConnectFailedException;
import dev.llmpool.ConnectionLostException;
import dev.llmpool.HttpProtocolException;
import dev.llmpool.Limits;
import dev.llmpool.LlmPool;
import dev.llmpool.LlmPoolException;
import dev.llmpool.Phase;
import dev.llmpool.ReadTimeoutException;
import dev.llmpool.Timeouts;
import dev.llmpool.TotalTimeoutException;
import dev.llmpool.http.internal.HttpEngine;
import dev.llmpool.testkit.Fault;
import dev.llmpool.testkit.MockLlmServer;
import dev.llmpool.testkit.Reply;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The HTTP client's contract, run over HTTP/1.1, HTTPS/1.1, h2c and h2 (TLS) against the testkit's
 * MockLlmServer: reuse, streaming, faults and their exceptions. Every test ends with the leak check
 * (no connection left active) and the at-most-once check (no request processed twice).
 */
class HttpContractTest {
  private MockLlmServer server;
  private LlmPool pool;

  private void start(Proto p, MockLlmServer.Builder sb, LlmPool.Builder... pb) {
    server = sb.build().start();
    pool = (pb.length > 0 ? pb[0] : p.pool(server)).build();
  }

  private void start(Proto p) {
    start(p, p.server());
  }

  @AfterEach
  void tearDown() {
    try {
      if (pool != null && server != null) {
        assertCleanAndAtMostOnce(pool, server);
      }
    } finally {
      if (pool != null) {
        pool.close();
      }
      if (server != null) {
        server.close();
      }
    }
  }

  @ParameterizedTest
  @EnumSource(Proto.class)
  void aCallGetsStatusHeadersAndBodyOverTheProtocol(Proto p) {
    start(p);
    String id = newId();
    HttpResponse r = pool.send(chat(id).build());
    assertThat(r.status()).isEqualTo(200);
    assertThat(r.version()).isEqualTo(p.version());
    assertThat(r.header("content-type")).startsWith("application/json");
    assertThat(r.bodyString()).contains(id);
    assertThat(server.takeRequest().header("user-agent")).isEqualTo("llmpool/" + LlmPool.VERSION);
  }

  @ParameterizedTest
  @EnumSource(Proto.class)
  void aThousandSequentialCallsOpenOneConnection(Proto p) {
    start(p);
    for (int i = 0; i < 1000; i++) {
      assertThat(pool.send(chat(newId()).build()).status()).isEqualTo(200);
    }
    assertThat(server.stats().connectionsAccepted()).isEqualTo(1);
    assertThat(server.stats().requestsServed()).isEqualTo(1000);
    if (p.tls) {
      assertThat(server.stats().tlsHandshakesCompleted()).isEqualTo(1);
    }
    assertThat(pool.stats().opened()).isEqualTo(1);
  }

  @ParameterizedTest
  @EnumSource(Proto.class)
  void asyncCallsCompleteTheirFutures(Proto p) throws Exception {
    start(p);
    List<CompletableFuture<HttpResponse>> fs = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      fs.add(pool.sendAsync(chat(newId()).build()));
    }
    for (CompletableFuture<HttpResponse> f : fs) {
      assertThat(f.get(30, TimeUnit.SECONDS).status()).isEqualTo(200);
    }
  }

  @ParameterizedTest
  @EnumSource(Proto.class)
  void aStreamedBodyIsReadAsItArrives(Proto p) throws Exception {
    start(p);
    String id = newId();
    List<String> events = new ArrayList<>();
    try (StreamingResponse r = pool.stream(chatStream(id).build())) {
      assertThat(r.status()).isEqualTo(200);
      assertThat(r.headers().get("content-type")).startsWith("text/event-stream");
      BufferedReader reader =
          new BufferedReader(new InputStreamReader(r.bodyStream(), StandardCharsets.UTF_8));
      String line;
      while ((line = reader.readLine()) != null) {
        if (line.startsWith("data: ")) {
          events.add(line.substring(6));
        }
      }
      assertThat(r.isDone()).isTrue();
    }
    assertThat(events).isNotEmpty();
    assertThat(events.get(events.size() - 1)).isEqualTo("[DONE]");
    assertThat(String.join("", events)).contains("chat.completion.chunk");
  }

  @ParameterizedTest
  @EnumSource(Proto.class)
  void aStreamedBodyCanBeConsumedBySubscriberOneItemAtATime(Proto p) throws Exception {
    start(p);
    StreamingResponse r = pool.streamAsync(chatStream(newId()).build()).get(20, TimeUnit.SECONDS);
    CompletableFuture<String> done = new CompletableFuture<>();
    StringBuilder text = new StringBuilder();
    r.publisher()
        .subscribe(
            new java.util.concurrent.Flow.Subscriber<java.nio.ByteBuffer>() {
              java.util.concurrent.Flow.Subscription sub;

              @Override
              public void onSubscribe(java.util.concurrent.Flow.Subscription s) {
                sub = s;
                s.request(1);
              }

              @Override
              public void onNext(java.nio.ByteBuffer item) {
                text.append(StandardCharsets.UTF_8.decode(item));
                sub.request(1);
              }

              @Override
              public void onError(Throwable t) {
                done.completeExceptionally(t);
              }

              @Override
              public void onComplete() {
                done.complete(text.toString());
              }
            });
    assertThat(done.get(20, TimeUnit.SECONDS)).contains("data: [DONE]");
    r.close();
  }

  @ParameterizedTest
  @EnumSource(Proto.class)
  void aStreamedBodyCanBePulledAsynchronously(Proto p) throws Exception {
    start(p);
    try (StreamingResponse r =
        pool.streamAsync(chatStream(newId()).build()).get(20, TimeUnit.SECONDS)) {
      byte[] all = r.readAllAsync(1 << 20).get(20, TimeUnit.SECONDS);
      assertThat(new String(all, StandardCharsets.UTF_8)).contains("data: [DONE]");
    }
  }

  @ParameterizedTest
  @EnumSource(Proto.class)
  void closingAStreamedBodyEarlyLeavesNothingLeased(Proto p) {
    start(p);
    StreamingResponse r =
        pool.stream(
            chatStream(newId()).header("x-mock-fault", "none;tokens-per-second=20").build());
    assertThat(r.readChunk()).isNotNull();
    r.close();
    // The next call works, on a new connection for HTTP/1.1 (the old one had unread bytes), on the
    // same one for HTTP/2 (only the stream was reset).
    assertThat(pool.send(chat(newId()).build()).status()).isEqualTo(200);
    assertThat(server.stats().connectionsAccepted()).isEqualTo(p.http2 ? 1 : 2);
  }

  @ParameterizedTest
  @EnumSource(Proto.class)
  void anErrorStatusIsAResponseNotAnException(Proto p) {
    start(p);
    HttpResponse r = pool.send(chat(newId()).header("x-mock-fault", "429;retry-after=2s").build());
    assertThat(r.status()).isEqualTo(429);
    assertThat(r.header("retry-after")).isEqualTo("2");
    assertThat(pool.send(chat(newId()).header("x-mock-fault", "503").build()).status())
        .isEqualTo(503);
  }

  @ParameterizedTest
  @EnumSource(Proto.class)
  void aConnectionTheServerClosedAfterItsResponseIsReplaced(Proto p) {
    start(p);
    assertThat(pool.send(chat(newId(), Fault.CLOSE_AFTER_RESPONSE).build()).status())
        .isEqualTo(200);
    Waits.until(() -> pool.stats().open() == 0);
    for (int i = 0; i < 3; i++) {
      assertThat(pool.send(chat(newId()).build()).status()).isEqualTo(200);
    }
    assertThat(server.stats().connectionsAccepted()).isEqualTo(2);
  }

  @ParameterizedTest
  @EnumSource(Proto.class)
  void aRequestRacingTheServersCloseIsNeverSentTwice(Proto p) {
    start(p);
    // No waiting: the next request may be written before the close is seen. It then either went
    // out before the connection died (re-sent: it was not processed), or it was written and the
    // connection died without an answer: that is reported, never re-sent.
    int ok = 0;
    for (int i = 0; i < 40; i++) {
      Fault f = i % 2 == 0 ? Fault.CLOSE_AFTER_RESPONSE : Fault.NONE;
      try {
        assertThat(pool.send(chat(newId(), f).build()).status()).isEqualTo(200);
        ok++;
      } catch (ConnectionLostException e) {
        assertThat(e.requestMayHaveBeenProcessed()).isTrue();
      }
    }
    assertThat(ok).isGreaterThan(0);
  }

  @ParameterizedTest
  @EnumSource(Proto.class)
  void idleConnectionsClosedByTheServerAreReplaced(Proto p) {
    start(p, p.server().closeIdleAfter(Duration.ofMillis(400)));
    assertThat(pool.send(chat(newId()).build()).status()).isEqualTo(200);
    server.awaitStats(s -> s.connectionsOpen() == 0, Duration.ofSeconds(20));
    assertThat(pool.send(chat(newId()).build()).status()).isEqualTo(200);
    assertThat(server.stats().connectionsAccepted()).isEqualTo(2);
  }

  @ParameterizedTest
  @EnumSource(Proto.class)
  void aDisconnectAfterTheRequestFailsSayingTheServerMayHaveProcessedIt(Proto p) {
    start(p);
    assertThatThrownBy(() -> pool.send(chat(newId(), Fault.DISCONNECT_AFTER_REQUEST).build()))
        .isInstanceOf(ConnectionLostException.class)
        .satisfies(e -> assertThat(((LlmPoolException) e).requestMayHaveBeenProcessed()).isTrue())
        .hasMessageContaining("may have processed")
        .hasMessageContaining("origin=" + server.baseUrl().toString());
    assertThat(server.requestCount()).isEqualTo(1);
  }

  @ParameterizedTest
  @EnumSource(
      value = Proto.class,
      names = {"H2C", "H2"})
  void aRefusedStreamIsResentTransparently(Proto p) {
    start(p);
    server.enqueue(Reply.fault(Fault.REFUSE_STREAM));
    String id = newId();
    assertThat(pool.send(chat(id).build()).status()).isEqualTo(200);
    assertThat(server.requests()).hasSize(2);
    assertThat(server.requests().get(0).reply().fault()).isEqualTo(Fault.REFUSE_STREAM);
  }

  @ParameterizedTest
  @EnumSource(
      value = Proto.class,
      names = {"H2C", "H2"})
  void aStreamRefusedEveryTimeIsResentABoundedNumberOfTimesAndFailsAsNotProcessed(Proto p) {
    start(p);
    assertThatThrownBy(() -> pool.send(chat(newId(), Fault.REFUSE_STREAM).build()))
        .isInstanceOf(ConnectionLostException.class)
        .hasMessageContaining("REFUSED_STREAM")
        .satisfies(e -> assertThat(((LlmPoolException) e).requestMayHaveBeenProcessed()).isFalse());
    assertThat(server.requests()).hasSize(1 + HttpEngine.MAX_SAFE_RETRIES);
  }

  @ParameterizedTest
  @EnumSource(
      value = Proto.class,
      names = {"H2C", "H2"})
  void aRequestThatMustNotBeResentFailsAtOnceAsNotProcessed(Proto p) {
    start(p);
    server.enqueue(Reply.fault(Fault.REFUSE_STREAM));
    assertThatThrownBy(() -> pool.send(chat(newId()).resendIfUnprocessed(false).build()))
        .isInstanceOf(ConnectionLostException.class)
        .satisfies(e -> assertThat(((LlmPoolException) e).requestMayHaveBeenProcessed()).isFalse());
    assertThat(server.requests()).hasSize(1);
    assertThat(chat(newId()).resendIfUnprocessed(false).build().toBuilder().build())
        .satisfies(r -> assertThat(r.resendIfUnprocessed()).isFalse());
  }

  @ParameterizedTest
  @EnumSource(
      value = Proto.class,
      names = {"HTTP_1_1", "HTTPS_1_1"})
  void withoutStreamsARefusalIsADisconnectThatMayHaveBeenProcessed(Proto p) {
    start(p);
    server.enqueue(Reply.fault(Fault.REFUSE_STREAM));
    assertThatThrownBy(() -> pool.send(chat(newId()).build()))
        .isInstanceOf(ConnectionLostException.class)
        .satisfies(e -> assertThat(((LlmPoolException) e).requestMayHaveBeenProcessed()).isTrue());
    assertThat(server.requests()).hasSize(1);
  }

  @ParameterizedTest
  @EnumSource(Proto.class)
  void midBodyFailuresSayTheServerMayHaveProcessedTheRequest(Proto p) {
    start(p);
    for (Fault f :
        List.of(
            Fault.TRUNCATE_BODY,
            Fault.RESET_STREAM_MID_BODY,
            Fault.CLOSE_CONNECTION_MID_BODY,
            Fault.RESET_CONNECTION_MID_BODY)) {
      assertThatThrownBy(() -> pool.send(chat(newId(), f).build()))
          .as(f.name())
          .isInstanceOfAny(ConnectionLostException.class, HttpProtocolException.class)
          .satisfies(
              e -> assertThat(((LlmPoolException) e).requestMayHaveBeenProcessed()).isTrue());
    }
    assertThat(pool.send(chat(newId()).build()).status()).isEqualTo(200);
  }

  @ParameterizedTest
  @EnumSource(Proto.class)
  void garbageIsAProtocolError(Proto p) {
    start(p);
    assertThatThrownBy(() -> pool.send(chat(newId(), Fault.GARBAGE).build()))
        .isInstanceOf(LlmPoolException.class)
        .satisfies(
            e -> {
              LlmPoolException x = (LlmPoolException) e;
              assertThat(x.requestMayHaveBeenProcessed()).isTrue();
              assertThat(x.phase()).isIn(Phase.PROTOCOL, Phase.READ);
            });
  }

  @ParameterizedTest
  @EnumSource(Proto.class)
  void aResponseBeforeTheRequestBodyIsASuccess(Proto p) {
    start(p);
    String big = "x".repeat(4 * 1024 * 1024);
    HttpRequest req =
        HttpRequest.post("/chat/completions")
            .header("x-mock-fault", Fault.RESPOND_BEFORE_BODY.headerValue())
            .header("x-test-id", newId())
            .json(
                "{\"model\":\"mock\",\"messages\":[{\"role\":\"user\",\"content\":\""
                    + big
                    + "\"}]}")
            .build();
    HttpResponse r = pool.send(req);
    assertThat(r.status()).isEqualTo(200);
    assertThat(pool.send(chat(newId()).build()).status()).isEqualTo(200);
  }

  @ParameterizedTest
  @EnumSource(Proto.class)
  void aVanishedServerEndsCallsWithTheExceptionThatSaysWhatHappened(Proto p) throws Exception {
    server = p.server().build().start();
    // The default read timeout (5 min) is far beyond this test's: only the connection's end can
    // end the call in flight.
    pool = p.pool(server).build();
    assertThat(pool.send(chat(newId()).build()).status()).isEqualTo(200);
    CompletableFuture<HttpResponse> inFlight =
        pool.sendAsync(chat(newId()).header("x-mock-fault", "none;latency=30s").build());
    server.awaitStats(s -> s.requestsServed() == 2, Duration.ofSeconds(20));
    String origin = server.baseUrl().toString();
    server.close();
    // The call in flight: its request was fully sent, so the server may have processed it.
    assertThatThrownBy(() -> inFlight.get(20, TimeUnit.SECONDS))
        .cause()
        .isInstanceOf(ConnectionLostException.class)
        .hasMessageContaining("phase=read")
        .hasMessageContaining("origin=" + origin)
        .satisfies(e -> assertThat(((LlmPoolException) e).requestMayHaveBeenProcessed()).isTrue());
    // The pool saw every connection end: nothing is left open to a server that is gone.
    Waits.until(() -> pool.stats().open() == 0);
    // A new call cannot connect, and says that nothing was sent.
    assertThatThrownBy(() -> pool.send(chat(newId()).build()))
        .isInstanceOf(ConnectFailedException.class)
        .hasMessageContaining("phase=connect")
        .hasMessageContaining("origin=" + origin)
        .satisfies(e -> assertThat(((LlmPoolException) e).requestMayHaveBeenProcessed()).isFalse());
  }

  @ParameterizedTest
  @EnumSource(Proto.class)
  void everyCallEndsWithinTheTotalTimeout(Proto p) {
    server = p.server().build().start();
    pool =
        p.pool(server).timeouts(Timeouts.builder().total(Duration.ofMillis(500)).build()).build();
    assertThatThrownBy(() -> pool.send(chat(newId(), Fault.STALL_AFTER_HEADERS).build()))
        .isInstanceOf(TotalTimeoutException.class)
        .hasMessageContaining("timeouts.total (PT0.5S)");
  }

  @ParameterizedTest
  @EnumSource(Proto.class)
  void aStallIsAReadTimeoutNamingThePhaseAndHost(Proto p) {
    server = p.server().build().start();
    pool = p.pool(server).timeouts(Timeouts.builder().read(Duration.ofMillis(300)).build()).build();
    assertThatThrownBy(() -> pool.send(chat(newId(), Fault.STALL_AFTER_HEADERS).build()))
        .isInstanceOf(ReadTimeoutException.class)
        .hasMessageContaining("phase=read")
        .hasMessageContaining("origin=" + server.baseUrl());
    assertThat(pool.send(chat(newId()).build()).status()).isEqualTo(200);
  }

  @ParameterizedTest
  @EnumSource(Proto.class)
  void cancellingACallReleasesItsConnection(Proto p) throws Exception {
    start(p);
    CompletableFuture<HttpResponse> f =
        pool.sendAsync(chat(newId()).header("x-mock-fault", "none;latency=30s").build());
    server.awaitStats(s -> s.requestsServed() == 1, Duration.ofSeconds(20));
    assertThat(f.cancel(true)).isTrue();
    assertThat(pool.send(chat(newId()).build()).status()).isEqualTo(200);
  }

  @ParameterizedTest
  @EnumSource(
      value = Proto.class,
      names = {"H2C", "H2"})
  void sixtyFourConcurrentCallsShareOneHttp2Connection(Proto p) throws Exception {
    start(p, p.server());
    List<CompletableFuture<HttpResponse>> fs = new ArrayList<>();
    for (int i = 0; i < 64; i++) {
      fs.add(pool.sendAsync(chat(newId()).header("x-mock-fault", "none;latency=200ms").build()));
    }
    for (CompletableFuture<HttpResponse> f : fs) {
      assertThat(f.get(30, TimeUnit.SECONDS).status()).isEqualTo(200);
    }
    assertThat(server.stats().connectionsAccepted()).isEqualTo(1);
    assertThat(server.stats().peakConcurrentStreams()).isGreaterThan(1);
  }

  @ParameterizedTest
  @EnumSource(
      value = Proto.class,
      names = {"H2C", "H2"})
  void aLowerStreamLimitOpensCeilOfCallsOverLimitConnections(Proto p) throws Exception {
    int limit = 10;
    server = p.server().maxConcurrentStreams(limit).build().start();
    pool =
        p.pool(server)
            .limits(Limits.builder().maxConnections(64).maxConnectionsPerHost(32).build())
            .build();
    // Warm one connection so the stream limit is known before the burst.
    assertThat(pool.send(chat(newId()).build()).status()).isEqualTo(200);
    List<CompletableFuture<HttpResponse>> fs = new ArrayList<>();
    for (int i = 0; i < 64; i++) {
      // Long enough that all 64 are in flight at once.
      fs.add(pool.sendAsync(chat(newId()).header("x-mock-fault", "none;latency=3s").build()));
    }
    for (CompletableFuture<HttpResponse> f : fs) {
      assertThat(f.get(30, TimeUnit.SECONDS).status()).isEqualTo(200);
    }
    assertThat(server.stats().connectionsAccepted()).isEqualTo((64 + limit - 1) / limit);
    server
        .stats()
        .connections()
        .forEach(c -> assertThat(c.peakConcurrentStreams()).isLessThanOrEqualTo(limit));
  }
}
