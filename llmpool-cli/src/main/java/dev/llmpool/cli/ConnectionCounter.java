package dev.llmpool.cli;

import dev.llmpool.EventListener;
import java.net.InetSocketAddress;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import org.jspecify.annotations.Nullable;

/**
 * What the client saw of connections, from llmpool's {@link EventListener}: TCP connections opened,
 * TLS handshakes, calls that had to wait for a new connection, and each TCP connect's duration (a
 * measure of the network's round trip time, since a TCP handshake is one round trip). One counter
 * serves every pool of a strategy; {@link #listener()} gives each pool its own listener (call ids
 * are unique only within a pool). Thread-safe.
 */
final class ConnectionCounter {
  private final AtomicLong connects = new AtomicLong();
  private final AtomicLong tlsHandshakes = new AtomicLong();
  private final AtomicLong acquiredNew = new AtomicLong();
  private final AtomicLong callsOpening = new AtomicLong();
  private final AtomicLong acquiredReused = new AtomicLong();
  private final java.util.Set<String> protocols = ConcurrentHashMap.newKeySet();
  private final Latencies connectTimes;

  /** Where a call's time went, per phase; see {@link #phases()}. */
  final Latencies waitForConnection = new Latencies();

  final Latencies tcpConnect = new Latencies();
  final Latencies tlsHandshake = new Latencies();
  final Latencies tlsToUsable = new Latencies();
  final Latencies requestToHeaders = new Latencies();

  /**
   * @param connectTimes where TCP connect durations go (shared between strategies for an overall
   *     RTT estimate), or null
   */
  ConnectionCounter(@Nullable Latencies connectTimes) {
    this.connectTimes = connectTimes == null ? new Latencies() : connectTimes;
  }

  /** A listener for one pool, counting into this counter. */
  EventListener listener() {
    ConcurrentHashMap<String, Long> started = new ConcurrentHashMap<>();
    // Per call (ids are unique within this pool): the times of its steps, see Step.
    ConcurrentHashMap<Long, AtomicLongArray> steps = new ConcurrentHashMap<>();
    return new EventListener() {
      private void mark(CallInfo call, int step) {
        if (call.id() != 0) { // 0: pre-warming, no call
          AtomicLongArray t = steps.get(call.id());
          if (t != null) {
            t.set(step, Ticks.now());
          }
        }
      }

      @Override
      public void callStart(CallInfo call) {
        AtomicLongArray t = new AtomicLongArray(STEPS);
        t.set(CALL_START, Ticks.now());
        steps.put(call.id(), t);
      }

      @Override
      public void connectStart(CallInfo call, InetSocketAddress address) {
        started.put(key(call, address), Ticks.now());
        if (call.id() != 0) {
          AtomicLongArray t = steps.get(call.id());
          if (t != null && t.compareAndSet(CONNECT_START, 0, Ticks.now())) {
            callsOpening.incrementAndGet(); // its first connect; a retry's is not a new call
          }
        }
      }

      @Override
      public void connectEnd(CallInfo call, InetSocketAddress address) {
        connects.incrementAndGet();
        Long t0 = started.remove(key(call, address));
        if (t0 != null) {
          connectTimes.record(Ticks.now() - t0);
        }
        mark(call, CONNECT_END);
      }

      @Override
      public void tlsStart(CallInfo call) {
        mark(call, TLS_START);
      }

      @Override
      public void responseHeadersEnd(CallInfo call, int status) {
        mark(call, HEADERS);
      }

      @Override
      public void callEnd(CallInfo call) {
        AtomicLongArray t = steps.remove(call.id());
        if (t != null) {
          phasesOf(t);
        }
      }

      @Override
      public void callFailed(CallInfo call, dev.llmpool.LlmPoolException error) {
        steps.remove(call.id());
      }

      @Override
      public void connectFailed(
          CallInfo call, InetSocketAddress address, dev.llmpool.LlmPoolException error) {
        started.remove(key(call, address));
      }

      @Override
      public void tlsEnd(
          CallInfo call, String protocol, String cipherSuite, @Nullable String alpn) {
        tlsHandshakes.incrementAndGet();
        mark(call, TLS_END);
      }

      @Override
      public void connectionAcquired(
          CallInfo call, ConnectionInfo connection, boolean reused, long waitedNanos) {
        (reused ? acquiredReused : acquiredNew).incrementAndGet();
        protocols.add(connection.protocol());
        mark(call, ACQUIRED);
      }
    };
  }

  private static final int CALL_START = 0;
  private static final int CONNECT_START = 1;
  private static final int CONNECT_END = 2;
  private static final int TLS_START = 3;
  private static final int TLS_END = 4;
  private static final int ACQUIRED = 5;
  private static final int HEADERS = 6;
  private static final int STEPS = 7;

  private void phasesOf(AtomicLongArray t) {
    long acquired = t.get(ACQUIRED);
    if (acquired != 0) {
      waitForConnection.record(acquired - t.get(CALL_START));
      if (t.get(HEADERS) != 0) {
        requestToHeaders.record(t.get(HEADERS) - acquired);
      }
    }
    if (t.get(CONNECT_START) != 0 && t.get(CONNECT_END) != 0) {
      tcpConnect.record(t.get(CONNECT_END) - t.get(CONNECT_START));
    }
    if (t.get(TLS_START) != 0 && t.get(TLS_END) != 0) {
      tlsHandshake.record(t.get(TLS_END) - t.get(TLS_START));
      if (acquired != 0) {
        tlsToUsable.record(acquired - t.get(TLS_END));
      }
    }
  }

  /**
   * Where the calls' time went, in ms: waiting for a connection (all of the set-up for a call that
   * opened one), its TCP connect, TLS handshake and the time from the handshake's end until the
   * connection was usable (HTTP/2: the server's SETTINGS), then from sending the request to the
   * response headers. Phases no call went through are left out.
   */
  java.util.Map<String, Object> phases() {
    java.util.Map<String, Object> m = new java.util.LinkedHashMap<>();
    put(m, "wait_for_connection", waitForConnection);
    put(m, "tcp_connect", tcpConnect);
    put(m, "tls_handshake", tlsHandshake);
    put(m, "tls_end_to_usable", tlsToUsable);
    put(m, "request_to_response_headers", requestToHeaders);
    return m;
  }

  private static void put(java.util.Map<String, Object> m, String name, Latencies l) {
    if (l.count() > 0) {
      m.put(name, l.toMap("p50", "p90", "max"));
    }
  }

  private static String key(EventListener.CallInfo call, InetSocketAddress address) {
    return call.id() + "/" + address;
  }

  long connects() {
    return connects.get();
  }

  long tlsHandshakes() {
    return tlsHandshakes.get();
  }

  /** Calls that got a connection that had carried no exchange before. */
  long acquiredNew() {
    return acquiredNew.get();
  }

  /**
   * Calls that opened a connection (set-up events go to the call that caused the connect; calls
   * that waited for another call's new HTTP/2 connection, or took a pre-warmed one, did not).
   */
  long callsOpeningConnection() {
    return callsOpening.get();
  }

  /** The protocols calls ran on, sorted: {@code HTTP/1.1}, {@code HTTP/2}. */
  java.util.SortedSet<String> protocols() {
    return new java.util.TreeSet<>(protocols);
  }

  long acquiredReused() {
    return acquiredReused.get();
  }
}
