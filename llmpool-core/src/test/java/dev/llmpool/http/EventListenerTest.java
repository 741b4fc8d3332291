package dev.llmpool.http;

import static dev.llmpool.http.Calls.chat;
import static dev.llmpool.http.Calls.newId;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.llmpool.EventListener;
import dev.llmpool.LlmPool;
import dev.llmpool.LlmPoolException;
import dev.llmpool.testkit.Fault;
import dev.llmpool.testkit.MockLlmServer;
import dev.llmpool.testkit.Reply;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;

/** Every event the listener declares, in order, at the right moment. */
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
}
