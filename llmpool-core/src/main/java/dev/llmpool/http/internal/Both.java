package dev.llmpool.http.internal;

import dev.llmpool.EventListener;
import dev.llmpool.LlmPoolException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Two listeners (the pool's and a call's, or the user's and a metrics sink's), both told every
 * event, first then second, each failure isolated. Written out method by method, without a lambda
 * per event, so that combining listeners allocates nothing per call.
 */
final class Both implements EventListener {
  private static final Logger log = LoggerFactory.getLogger(Both.class);

  private final EventListener first;
  private final EventListener second;

  Both(EventListener first, EventListener second) {
    this.first = first;
    this.second = second;
  }

  private static void failed(RuntimeException e) {
    log.warn("event listener threw; ignored", e);
  }

  @Override
  public void callStart(CallInfo call) {
    try {
      first.callStart(call);
    } catch (RuntimeException e) {
      failed(e);
    }
    try {
      second.callStart(call);
    } catch (RuntimeException e) {
      failed(e);
    }
  }

  @Override
  public void dnsStart(CallInfo call, String host) {
    try {
      first.dnsStart(call, host);
    } catch (RuntimeException e) {
      failed(e);
    }
    try {
      second.dnsStart(call, host);
    } catch (RuntimeException e) {
      failed(e);
    }
  }

  @Override
  public void dnsEnd(CallInfo call, String host, List<InetAddress> addresses, boolean cached) {
    try {
      first.dnsEnd(call, host, addresses, cached);
    } catch (RuntimeException e) {
      failed(e);
    }
    try {
      second.dnsEnd(call, host, addresses, cached);
    } catch (RuntimeException e) {
      failed(e);
    }
  }

  @Override
  public void connectStart(CallInfo call, InetSocketAddress address) {
    try {
      first.connectStart(call, address);
    } catch (RuntimeException e) {
      failed(e);
    }
    try {
      second.connectStart(call, address);
    } catch (RuntimeException e) {
      failed(e);
    }
  }

  @Override
  public void connectEnd(CallInfo call, InetSocketAddress address) {
    try {
      first.connectEnd(call, address);
    } catch (RuntimeException e) {
      failed(e);
    }
    try {
      second.connectEnd(call, address);
    } catch (RuntimeException e) {
      failed(e);
    }
  }

  @Override
  public void connectFailed(CallInfo call, InetSocketAddress address, LlmPoolException error) {
    try {
      first.connectFailed(call, address, error);
    } catch (RuntimeException e) {
      failed(e);
    }
    try {
      second.connectFailed(call, address, error);
    } catch (RuntimeException e) {
      failed(e);
    }
  }

  @Override
  public void tlsStart(CallInfo call) {
    try {
      first.tlsStart(call);
    } catch (RuntimeException e) {
      failed(e);
    }
    try {
      second.tlsStart(call);
    } catch (RuntimeException e) {
      failed(e);
    }
  }

  @Override
  public void tlsEnd(CallInfo call, String protocol, String cipherSuite, @Nullable String alpn) {
    try {
      first.tlsEnd(call, protocol, cipherSuite, alpn);
    } catch (RuntimeException e) {
      failed(e);
    }
    try {
      second.tlsEnd(call, protocol, cipherSuite, alpn);
    } catch (RuntimeException e) {
      failed(e);
    }
  }

  @Override
  public void connectionAcquired(
      CallInfo call, ConnectionInfo connection, boolean reused, long waitedNanos) {
    try {
      first.connectionAcquired(call, connection, reused, waitedNanos);
    } catch (RuntimeException e) {
      failed(e);
    }
    try {
      second.connectionAcquired(call, connection, reused, waitedNanos);
    } catch (RuntimeException e) {
      failed(e);
    }
  }

  @Override
  public void connectionReleased(CallInfo call, ConnectionInfo connection) {
    try {
      first.connectionReleased(call, connection);
    } catch (RuntimeException e) {
      failed(e);
    }
    try {
      second.connectionReleased(call, connection);
    } catch (RuntimeException e) {
      failed(e);
    }
  }

  @Override
  public void requestHeadersEnd(CallInfo call) {
    try {
      first.requestHeadersEnd(call);
    } catch (RuntimeException e) {
      failed(e);
    }
    try {
      second.requestHeadersEnd(call);
    } catch (RuntimeException e) {
      failed(e);
    }
  }

  @Override
  public void requestBodyEnd(CallInfo call, long bytes) {
    try {
      first.requestBodyEnd(call, bytes);
    } catch (RuntimeException e) {
      failed(e);
    }
    try {
      second.requestBodyEnd(call, bytes);
    } catch (RuntimeException e) {
      failed(e);
    }
  }

  @Override
  public void responseHeadersEnd(CallInfo call, int status) {
    try {
      first.responseHeadersEnd(call, status);
    } catch (RuntimeException e) {
      failed(e);
    }
    try {
      second.responseHeadersEnd(call, status);
    } catch (RuntimeException e) {
      failed(e);
    }
  }

  @Override
  public void responseBodyEnd(CallInfo call, long bytes) {
    try {
      first.responseBodyEnd(call, bytes);
    } catch (RuntimeException e) {
      failed(e);
    }
    try {
      second.responseBodyEnd(call, bytes);
    } catch (RuntimeException e) {
      failed(e);
    }
  }

  @Override
  public void retry(CallInfo call, String reason, Duration delay, int attempt) {
    try {
      first.retry(call, reason, delay, attempt);
    } catch (RuntimeException e) {
      failed(e);
    }
    try {
      second.retry(call, reason, delay, attempt);
    } catch (RuntimeException e) {
      failed(e);
    }
  }

  @Override
  public void callEnd(CallInfo call) {
    try {
      first.callEnd(call);
    } catch (RuntimeException e) {
      failed(e);
    }
    try {
      second.callEnd(call);
    } catch (RuntimeException e) {
      failed(e);
    }
  }

  @Override
  public void callFailed(CallInfo call, LlmPoolException error) {
    try {
      first.callFailed(call, error);
    } catch (RuntimeException e) {
      failed(e);
    }
    try {
      second.callFailed(call, error);
    } catch (RuntimeException e) {
      failed(e);
    }
  }
}
