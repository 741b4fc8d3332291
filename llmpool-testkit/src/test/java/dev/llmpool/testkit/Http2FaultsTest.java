package dev.llmpool.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Settings;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * HTTP/2 faults and connection policies, seen frame by frame by a raw Netty client, over h2c with
 * prior knowledge and over TLS with ALPN h2.
 */
class Http2FaultsTest {
  private static final String CHAT = Clients.CHAT;
  private static final String STREAM =
      "{\"model\":\"m\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"one two three four\"}]}";

  private static MockLlmServer.Builder server(boolean tls) {
    return MockLlmServer.builder().tls(tls);
  }

  private static Map<String, String> fault(Fault f) {
    return Map.of("x-mock-fault", f.headerValue());
  }

  private static <T> T get(java.util.concurrent.CompletableFuture<T> f) {
    return f.orTimeout(20, TimeUnit.SECONDS).join();
  }

  @ParameterizedTest
  @ValueSource(booleans = {false, true})
  void goAwayAfterNStreamsNamesTheLastProcessedStreamAndLeavesTheRestUnprocessed(boolean tls) {
    try (MockLlmServer s =
            server(tls)
                .maxRequestsPerConnection(2)
                .defaultReply(Reply.builder().headersDelay(Duration.ofMillis(100)).build())
                .start();
        H2Client c = new H2Client(s)) {
      List<H2Client.Response> rs = c.batch(CHAT, Collections.nCopies(4, Map.of()));
      long[] goAway = get(c.goAway);
      // Netty's client starts at stream 3: the second stream is the last processed
      assertThat(goAway[0]).isEqualTo(rs.get(1).streamId);
      assertThat(goAway[1]).isEqualTo(Http2Error.NO_ERROR.code());
      assertThat(rs.get(0).await().status()).isEqualTo(200);
      assertThat(rs.get(1).await().status()).isEqualTo(200);
      assertThat(rs.get(0).endStream).isTrue();
      assertThat(rs.get(1).endStream).isTrue();
      assertThat(rs.get(2).await().headers.status()).isNull();
      assertThat(rs.get(3).await().headers.status()).isNull();
      get(c.closed); // the server closes once its last stream is done
      assertThat(s.requests())
          .extracting(RecordedRequest::streamId)
          .containsExactly(rs.get(0).streamId, rs.get(1).streamId);
      assertThat(s.stats().requestsServed()).isEqualTo(2);
    }
  }

  @ParameterizedTest
  @ValueSource(booleans = {false, true})
  void framesInFlightPastAGoAwayAreDroppedAndItsStreamsStillComplete(boolean tls) {
    try (MockLlmServer s = server(tls).maxRequestsPerConnection(2).start();
        H2Client c = new H2Client(s)) {
      get(c.settings);
      // Three streams at once, bodies still to come: the second opens the GOAWAY, the third is
      // above it (refused, never processed).
      List<H2Client.Response> rs = c.open(3);
      long[] goAway = get(c.goAway);
      assertThat(goAway[0]).isEqualTo(rs.get(1).streamId);
      assertThat(rs.get(2).await().headers.status()).isNull(); // ended by the GOAWAY
      byte[] body = CHAT.getBytes(StandardCharsets.UTF_8);
      // What a client still sends before it has read the GOAWAY: the refused stream's body, and
      // frames for a stream above the GOAWAY that the server never saw open. A server drops them
      // (RFC 9113 §6.8), counting the DATA in the connection window; a connection error here
      // would lose the two streams the GOAWAY promised to finish.
      int refused = rs.get(2).streamId;
      int neverOpened = refused + 2;
      c.rawData(refused, body, true);
      c.rawData(neverOpened, body, false);
      c.rawWindowUpdate(neverOpened, 1024);
      c.rawWindowUpdate(refused, 1024);
      c.rawData(neverOpened, new byte[70_000], true); // more than a stream window: counted, dropped
      c.data(rs.get(0), body, true);
      c.data(rs.get(1), body, true);
      assertThat(rs.get(0).await().status()).isEqualTo(200);
      assertThat(rs.get(1).await().status()).isEqualTo(200);
      assertThat(rs.get(0).endStream && rs.get(1).endStream).isTrue();
      get(c.closed); // then the server closes, having finished the GOAWAY's streams
      assertThat(c.goAways).hasSize(1);
      assertThat(c.goAways.get(0)[1]).isEqualTo(Http2Error.NO_ERROR.code());
      assertThat(s.requests())
          .extracting(RecordedRequest::streamId)
          .containsExactly(rs.get(0).streamId, rs.get(1).streamId);
    }
  }

  @ParameterizedTest
  @ValueSource(booleans = {false, true})
  void settingsAnnounceTheStreamAndHeaderLimits(boolean tls) {
    try (MockLlmServer s = server(tls).maxConcurrentStreams(3).maxHeaderBytes(4096).start();
        H2Client c = new H2Client(s)) {
      Http2Settings settings = get(c.settings);
      assertThat(settings.maxConcurrentStreams()).isEqualTo(3);
      assertThat(settings.maxHeaderListSize()).isEqualTo(4096);
    }
  }

  @ParameterizedTest
  @ValueSource(booleans = {false, true})
  void streamsOverTheLimitAreRefusedAndNotProcessed(boolean tls) {
    try (MockLlmServer s =
            server(tls)
                .maxConcurrentStreams(1)
                .defaultReply(Reply.builder().headersDelay(Duration.ofMillis(100)).build())
                .start();
        H2Client c = new H2Client(s)) {
      c.ignoreStreamLimit();
      List<H2Client.Response> rs = c.batch(CHAT, Collections.nCopies(2, Map.of()));
      assertThat(rs.get(0).await().status()).isEqualTo(200);
      assertThat(get(rs.get(1).reset)).isEqualTo(Http2Error.REFUSED_STREAM.code());
      assertThat(s.requests()).hasSize(1);
    }
  }

  @ParameterizedTest
  @ValueSource(booleans = {false, true})
  void peakConcurrentStreamsAreCountedPerConnectionAndOverall(boolean tls) {
    try (MockLlmServer s =
            server(tls)
                .defaultReply(Reply.builder().headersDelay(Duration.ofMillis(150)).build())
                .start();
        H2Client c = new H2Client(s)) {
      for (H2Client.Response r : c.batch(CHAT, Collections.nCopies(5, Map.of()))) {
        assertThat(r.await().status()).isEqualTo(200);
      }
      MockServerStats stats = s.stats();
      assertThat(stats.connections().get(0).peakConcurrentStreams()).isEqualTo(5);
      assertThat(stats.peakConcurrentStreams()).isEqualTo(5);
      assertThat(stats.connections().get(0).requests()).isEqualTo(5);
    }
  }

  @ParameterizedTest
  @ValueSource(booleans = {false, true})
  void resetStreamMidBodyLeavesTheConnectionServingOtherStreams(boolean tls) {
    try (MockLlmServer s = server(tls).start();
        H2Client c = new H2Client(s)) {
      List<H2Client.Response> rs =
          c.batch(STREAM, List.of(fault(Fault.RESET_STREAM_MID_BODY), Map.of()));
      H2Client.Response reset = rs.get(0).await();
      assertThat(reset.status()).isEqualTo(200);
      assertThat(reset.resetCode).isEqualTo(Http2Error.INTERNAL_ERROR.code());
      assertThat(reset.bodyUtf8()).startsWith("data: ").doesNotContain("[DONE]");
      H2Client.Response ok = rs.get(1).await();
      assertThat(ok.endStream).isTrue();
      assertThat(ok.bodyUtf8()).endsWith("data: [DONE]\n\n");
      assertThat(c.isOpen()).isTrue();
      assertThat(c.chat(CHAT, Map.of()).await().status()).isEqualTo(200);
    }
  }

  @ParameterizedTest
  @ValueSource(booleans = {false, true})
  void respondBeforeBodyThenResetsWithNoError(boolean tls) {
    try (MockLlmServer s = server(tls).start();
        H2Client c = new H2Client(s)) {
      H2Client.Response r =
          c.send(
              "POST",
              "/v1/chat/completions",
              Map.of(
                  "authorization", "Bearer k",
                  "content-length", "100000",
                  "x-mock-fault", Fault.RESPOND_BEFORE_BODY.headerValue()),
              "{\"model\":".getBytes(StandardCharsets.UTF_8),
              false);
      assertThat(get(r.reset)).isEqualTo(Http2Error.NO_ERROR.code());
      assertThat(r.status()).isEqualTo(200);
      assertThat(r.endStream).isTrue(); // the response was complete: a success
      assertThat(Clients.json(r.bodyUtf8()).get("object").asText()).isEqualTo("chat.completion");
      RecordedRequest seen = s.takeRequest();
      assertThat(seen.body()).isEmpty();
      assertThat(seen.reply().fault()).isEqualTo(Fault.RESPOND_BEFORE_BODY);
      assertThat(c.chat(CHAT, Map.of()).await().status()).isEqualTo(200);
    }
  }

  @ParameterizedTest
  @ValueSource(booleans = {false, true})
  void bodyOverTheLimitGetsA413ThenResetNoError(boolean tls) {
    try (MockLlmServer s = server(tls).maxRequestBodyBytes(1000).start();
        H2Client c = new H2Client(s)) {
      H2Client.Response r =
          c.send(
              "POST",
              "/v1/chat/completions",
              Map.of("authorization", "Bearer k", "content-length", "5000"),
              new byte[100],
              false);
      assertThat(get(r.reset)).isEqualTo(Http2Error.NO_ERROR.code());
      assertThat(r.status()).isEqualTo(413);
      assertThat(s.takeRequest().reply().status()).isEqualTo(413);
    }
  }

  @ParameterizedTest
  @ValueSource(booleans = {false, true})
  void headersOverTheLimitGetA431(boolean tls) {
    try (MockLlmServer s = server(tls).maxHeaderBytes(2048).start();
        H2Client c = new H2Client(s)) {
      get(c.settings);
      H2Client.Response r = c.chat(CHAT, Map.of("x-big", "y".repeat(8000))).await();
      assertThat(r.status()).isEqualTo(431);
      assertThat(c.chat(CHAT, Map.of()).await().status()).isEqualTo(200);
    }
  }

  @ParameterizedTest
  @ValueSource(booleans = {false, true})
  void truncatedBodyEndsTheStreamShortOfItsContentLength(boolean tls) {
    try (MockLlmServer s = server(tls).start();
        H2Client c = new H2Client(s)) {
      H2Client.Response r = c.chat(CHAT, fault(Fault.TRUNCATE_BODY)).await();
      long declared = Long.parseLong(r.headers.get("content-length").toString());
      assertThat((long) r.bodySize()).isLessThan(declared);
      assertThat(r.resetCode).isNotEqualTo(Http2Error.INTERNAL_ERROR.code());
    }
  }

  @ParameterizedTest
  @ValueSource(booleans = {false, true})
  void stallSendsHeadersThenNothing(boolean tls) throws Exception {
    try (MockLlmServer s = server(tls).start();
        H2Client c = new H2Client(s)) {
      H2Client.Response r = c.chat(STREAM, fault(Fault.STALL_AFTER_HEADERS));
      assertThat(get(r.headersArrived).status()).isEqualTo(200);
      assertThat(r.done.completeOnTimeout(null, 300, TimeUnit.MILLISECONDS).get()).isNull();
      assertThat(r.bodySize()).isZero();
      assertThat(c.isOpen()).isTrue();
    }
  }

  @ParameterizedTest
  @ValueSource(booleans = {false, true})
  void refusedStreamIsResetWithRefusedStream(boolean tls) {
    try (MockLlmServer s = server(tls).start();
        H2Client c = new H2Client(s)) {
      H2Client.Response r = c.chat(CHAT, fault(Fault.REFUSE_STREAM)).await();
      assertThat(r.resetCode).isEqualTo(Http2Error.REFUSED_STREAM.code());
      assertThat(r.headers.status()).isNull();
      assertThat(c.chat(CHAT, Map.of()).await().status()).isEqualTo(200);
    }
  }

  @ParameterizedTest
  @ValueSource(booleans = {false, true})
  void closeMidBodyClosesTheConnectionWithoutGoAway(boolean tls) {
    for (Fault f : List.of(Fault.CLOSE_CONNECTION_MID_BODY, Fault.RESET_CONNECTION_MID_BODY)) {
      try (MockLlmServer s = server(tls).start();
          H2Client c = new H2Client(s)) {
        H2Client.Response r = c.chat(STREAM, fault(f)).await();
        get(c.closed);
        assertThat(r.endStream).as(f.name()).isFalse();
        assertThat(c.goAway).as(f.name()).isNotDone();
      }
    }
  }

  @ParameterizedTest
  @ValueSource(booleans = {false, true})
  void closeAfterResponseCompletesThenClosesWithoutGoAway(boolean tls) {
    try (MockLlmServer s = server(tls).start();
        H2Client c = new H2Client(s)) {
      H2Client.Response r = c.chat(CHAT, fault(Fault.CLOSE_AFTER_RESPONSE)).await();
      assertThat(r.status()).isEqualTo(200);
      assertThat(r.endStream).isTrue();
      get(c.closed);
      assertThat(c.goAway).isNotDone();
    }
  }

  @ParameterizedTest
  @ValueSource(booleans = {false, true})
  void disconnectAfterRequestRecordsItAndClosesWithoutAResponse(boolean tls) {
    try (MockLlmServer s = server(tls).start();
        H2Client c = new H2Client(s)) {
      H2Client.Response r = c.chat(CHAT, fault(Fault.DISCONNECT_AFTER_REQUEST)).await();
      get(c.closed);
      assertThat(r.headers.status()).isNull();
      assertThat(s.takeRequest().reply().fault()).isEqualTo(Fault.DISCONNECT_AFTER_REQUEST);
    }
  }

  @ParameterizedTest
  @ValueSource(booleans = {false, true})
  void garbageBreaksTheConnection(boolean tls) {
    try (MockLlmServer s = server(tls).start();
        H2Client c = new H2Client(s)) {
      H2Client.Response r = c.chat(CHAT, fault(Fault.GARBAGE)).await();
      get(c.closed);
      assertThat(r.headers.status()).isNull();
    }
  }

  /**
   * The idle timer runs from the moment a connection is accepted, so the client must send its first
   * request within it; a TLS handshake on a loaded machine needs a wider margin than h2c.
   */
  private static Duration idle(boolean tls) {
    return Duration.ofMillis(tls ? 750 : 100);
  }

  @ParameterizedTest
  @ValueSource(booleans = {false, true})
  void idleConnectionsAreClosedWithoutGoAway(boolean tls) {
    try (MockLlmServer s = server(tls).closeIdleAfter(idle(tls)).start();
        H2Client c = new H2Client(s)) {
      assertThat(c.chat(CHAT, Map.of()).await().status()).isEqualTo(200);
      get(c.closed);
      assertThat(c.goAway).isNotDone();
      assertThat(
              s.awaitStats(st -> st.connectionsOpen() == 0, Duration.ofSeconds(10))
                  .connectionsAccepted())
          .isEqualTo(1);
    }
  }

  @ParameterizedTest
  @ValueSource(booleans = {false, true})
  void aSlowStreamKeepsTheConnectionFromIdling(boolean tls) {
    Duration idle = idle(tls);
    try (MockLlmServer s =
            server(tls)
                .closeIdleAfter(idle)
                .defaultReply(Reply.builder().headersDelay(idle.multipliedBy(2)).build())
                .start();
        H2Client c = new H2Client(s)) {
      // the stream outlives the idle period twice over, and still completes
      assertThat(c.chat(CHAT, Map.of()).await().status()).isEqualTo(200);
      get(c.closed); // idle only once the stream ended
    }
  }
}
