package dev.llmpool;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * Hears what a call does, step by step, in the spirit of OkHttp's {@code EventListener}: set one
 * per pool, and optionally one per call. Every method has an empty default; override those you
 * need.
 *
 * <p>Order for a call on a new connection: {@code callStart, dnsStart, dnsEnd, connectStart,
 * connectEnd, tlsStart, tlsEnd, connectionAcquired, requestHeadersEnd, requestBodyEnd,
 * responseHeadersEnd, responseBodyEnd, connectionReleased, callEnd}. A reused connection skips dns,
 * connect and tls. A failure ends with {@code callFailed} instead of {@code callEnd}; a retry emits
 * {@link #retry} and then the steps again. Connection set-up events go to the call that caused the
 * connection to be opened; a pre-warmed connection's go to the pool's listener with a call whose
 * {@link CallInfo#id()} is 0.
 *
 * <p>Methods are called on llmpool's I/O threads: they must be quick and must not block or throw (a
 * throwing listener is logged and ignored). They see no header values and no bodies, so they cannot
 * leak a secret by accident. With no listener set ({@link #NONE}), the hot path allocates nothing
 * for events.
 */
public interface EventListener {

  /** The listener that hears nothing. */
  EventListener NONE = new EventListener() {};

  /** The call started. */
  default void callStart(CallInfo call) {}

  /** DNS lookup of {@code host} is starting (or being answered from the cache). */
  default void dnsStart(CallInfo call, String host) {}

  /** DNS lookup ended with these addresses; {@code cached} when the cache answered. */
  default void dnsEnd(CallInfo call, String host, List<InetAddress> addresses, boolean cached) {}

  /** Opening a TCP connection to {@code address}. */
  default void connectStart(CallInfo call, InetSocketAddress address) {}

  /** The TCP connection to {@code address} is open. */
  default void connectEnd(CallInfo call, InetSocketAddress address) {}

  /** The TCP connection (or its TLS handshake) to {@code address} failed; another may be tried. */
  default void connectFailed(CallInfo call, InetSocketAddress address, LlmPoolException error) {}

  /** The TLS handshake is starting. */
  default void tlsStart(CallInfo call) {}

  /**
   * The TLS handshake ended.
   *
   * @param protocol e.g. {@code TLSv1.3}
   * @param cipherSuite e.g. {@code TLS_AES_128_GCM_SHA256}
   * @param alpn the negotiated application protocol ({@code h2}, {@code http/1.1}), or null
   */
  default void tlsEnd(CallInfo call, String protocol, String cipherSuite, @Nullable String alpn) {}

  /**
   * The call got a connection (or, for HTTP/2, a stream slot on one).
   *
   * @param reused false when the connection was opened for this call
   * @param waitedNanos time spent waiting in the pool
   */
  default void connectionAcquired(
      CallInfo call, ConnectionInfo connection, boolean reused, long waitedNanos) {}

  /** The call gave its connection (or stream slot) back. */
  default void connectionReleased(CallInfo call, ConnectionInfo connection) {}

  /** The request headers were written. */
  default void requestHeadersEnd(CallInfo call) {}

  /** The request body was written, {@code bytes} long. */
  default void requestBodyEnd(CallInfo call, long bytes) {}

  /** The response headers arrived with this status. */
  default void responseHeadersEnd(CallInfo call, int status) {}

  /** The response body ended after {@code bytes} bytes. */
  default void responseBodyEnd(CallInfo call, long bytes) {}

  /**
   * The call will be tried again after {@code delay}.
   *
   * @param reason why, e.g. {@code "stale connection"}, {@code "http 429"}
   * @param attempt the attempt about to start, 2 for the first retry
   */
  default void retry(CallInfo call, String reason, Duration delay, int attempt) {}

  /** The call ended successfully. */
  default void callEnd(CallInfo call) {}

  /** The call failed with {@code error}. */
  default void callFailed(CallInfo call, LlmPoolException error) {}

  /** What a listener may know of a call: nothing secret. */
  interface CallInfo {
    /** A number unique within the pool, from 1; 0 for work no call asked for (pre-warm). */
    long id();

    /** The HTTP method. */
    String method();

    /** Where the call goes. */
    Origin origin();

    /** The request path, without the query string (a query may carry a key). */
    String path();
  }

  /** What a listener may know of a connection. */
  interface ConnectionInfo {
    /** A number unique within the pool, from 1. */
    long id();

    /** Where the connection goes. */
    Origin origin();

    /** {@code "HTTP/1.1"} or {@code "HTTP/2"}. */
    String protocol();

    /** The peer's address, once connected. */
    @Nullable InetSocketAddress remoteAddress();
  }
}
