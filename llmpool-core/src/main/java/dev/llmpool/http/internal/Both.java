package dev.llmpool.http.internal;

import dev.llmpool.EventListener;
import dev.llmpool.LlmPoolException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The pool's listener and a call's listener, both told every event (each failure isolated). */
final class Both implements EventListener {
  private static final Logger log = LoggerFactory.getLogger(Both.class);

  private final EventListener first;
  private final EventListener second;

  Both(EventListener first, EventListener second) {
    this.first = first;
    this.second = second;
  }

  private void each(Consumer<EventListener> event) {
    try {
      event.accept(first);
    } catch (RuntimeException e) {
      log.warn("event listener threw; ignored", e);
    }
    try {
      event.accept(second);
    } catch (RuntimeException e) {
      log.warn("event listener threw; ignored", e);
    }
  }

  @Override
  public void callStart(CallInfo call) {
    each(l -> l.callStart(call));
  }

  @Override
  public void dnsStart(CallInfo call, String host) {
    each(l -> l.dnsStart(call, host));
  }

  @Override
  public void dnsEnd(CallInfo call, String host, List<InetAddress> addresses, boolean cached) {
    each(l -> l.dnsEnd(call, host, addresses, cached));
  }

  @Override
  public void connectStart(CallInfo call, InetSocketAddress address) {
    each(l -> l.connectStart(call, address));
  }

  @Override
  public void connectEnd(CallInfo call, InetSocketAddress address) {
    each(l -> l.connectEnd(call, address));
  }

  @Override
  public void connectFailed(CallInfo call, InetSocketAddress address, LlmPoolException error) {
    each(l -> l.connectFailed(call, address, error));
  }

  @Override
  public void tlsStart(CallInfo call) {
    each(l -> l.tlsStart(call));
  }

  @Override
  public void tlsEnd(CallInfo call, String protocol, String cipherSuite, @Nullable String alpn) {
    each(l -> l.tlsEnd(call, protocol, cipherSuite, alpn));
  }

  @Override
  public void connectionAcquired(
      CallInfo call, ConnectionInfo connection, boolean reused, long waitedNanos) {
    each(l -> l.connectionAcquired(call, connection, reused, waitedNanos));
  }

  @Override
  public void connectionReleased(CallInfo call, ConnectionInfo connection) {
    each(l -> l.connectionReleased(call, connection));
  }

  @Override
  public void requestHeadersEnd(CallInfo call) {
    each(l -> l.requestHeadersEnd(call));
  }

  @Override
  public void requestBodyEnd(CallInfo call, long bytes) {
    each(l -> l.requestBodyEnd(call, bytes));
  }

  @Override
  public void responseHeadersEnd(CallInfo call, int status) {
    each(l -> l.responseHeadersEnd(call, status));
  }

  @Override
  public void responseBodyEnd(CallInfo call, long bytes) {
    each(l -> l.responseBodyEnd(call, bytes));
  }

  @Override
  public void retry(CallInfo call, String reason, Duration delay, int attempt) {
    each(l -> l.retry(call, reason, delay, attempt));
  }

  @Override
  public void callEnd(CallInfo call) {
    each(l -> l.callEnd(call));
  }

  @Override
  public void callFailed(CallInfo call, LlmPoolException error) {
    each(l -> l.callFailed(call, error));
  }
}
