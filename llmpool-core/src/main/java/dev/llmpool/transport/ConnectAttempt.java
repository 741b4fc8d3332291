package dev.llmpool.transport;

import dev.llmpool.ConnectFailedException;
import dev.llmpool.ConnectTimeoutException;
import dev.llmpool.DnsException;
import dev.llmpool.EventListener;
import dev.llmpool.LlmPoolException;
import dev.llmpool.Origin;
import dev.llmpool.TlsException;
import dev.llmpool.pool.Connection;
import dev.llmpool.pool.ConnectionListener;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoop;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeTimeoutException;
import io.netty.util.NetUtil;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.ScheduledFuture;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.channels.ClosedChannelException;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSession;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Opens one connection: DNS (through the cache), TCP to each address in turn until one answers, TLS
 * with ALPN, then the protocol handler. Runs on one event loop; every step is asynchronous. Each
 * address gets {@code timeouts.connect} for its TCP connect plus TLS handshake; the DNS lookup gets
 * {@code timeouts.connect} too.
 *
 * <p>Every path ends by completing {@link #result} exactly once; if the pool cancelled it in the
 * meantime, whatever was opened is closed.
 */
final class ConnectAttempt {
  private static final Logger log = LoggerFactory.getLogger(ConnectAttempt.class);

  private final NettyTransport transport;
  private final TransportSettings settings;
  private final EventLoop loop;
  private final Origin origin;
  private final ConnectionListener poolListener;
  private final long connectionId;
  private final CompletableFuture<Connection> result;
  private final EventListener events;
  private final EventListener.CallInfo call;

  /** False when nobody listens: then no event object is even built. */
  private final boolean listening;

  private List<InetAddress> addresses = List.of();
  private int next;
  private @Nullable LlmPoolException lastFailure;

  ConnectAttempt(
      NettyTransport transport,
      EventLoop loop,
      Origin origin,
      ConnectionListener poolListener,
      @Nullable Object cause,
      long connectionId,
      CompletableFuture<Connection> result) {
    this.transport = transport;
    this.settings = transport.settings;
    this.loop = loop;
    this.origin = origin;
    this.poolListener = poolListener;
    this.connectionId = connectionId;
    this.result = result;
    if (cause instanceof CallContext cc) {
      this.events = cc.listener();
      this.call = cc;
    } else {
      this.events = settings.listener;
      this.call = new PrewarmCall(origin);
    }
    this.listening = events != EventListener.NONE;
  }

  void start() {
    String host = origin.host();
    byte[] literal = NetUtil.createByteArrayFromIpAddressString(host);
    if (literal != null) {
      try {
        addresses = List.of(InetAddress.getByAddress(host, literal));
      } catch (UnknownHostException e) {
        fail(new DnsException(origin, "bad IP address " + host, false, e));
        return;
      }
      connectNext();
      return;
    }
    if (listening) {
      emit(() -> events.dnsStart(call, host));
    }
    CompletableFuture<DnsCache.Lookup> lookup = transport.dns.lookup(host);
    ScheduledFuture<?> timer =
        loop.schedule(
            () ->
                lookup.completeExceptionally(
                    new UnknownHostException(
                        "no answer within timeouts.connect (" + settings.timeouts.connect() + ")")),
            settings.timeouts.connect().toNanos(),
            TimeUnit.NANOSECONDS);
    var unused =
        lookup.whenComplete(
            (found, error) -> {
              timer.cancel(false);
              loop.execute(() -> afterDns(host, found, error));
            });
  }

  private void afterDns(String host, DnsCache.@Nullable Lookup found, @Nullable Throwable error) {
    if (result.isDone()) {
      return;
    }
    if (error != null || found == null) {
      Throwable cause =
          error instanceof CompletionException ce && ce.getCause() != null ? ce.getCause() : error;
      String reason = cause == null ? "no address" : describe(cause);
      fail(
          new DnsException(origin, "could not resolve host " + host + ": " + reason, false, cause));
      return;
    }
    addresses = found.addresses();
    if (listening) {
      emit(() -> events.dnsEnd(call, host, found.addresses(), found.cached()));
    }
    connectNext();
  }

  private void connectNext() {
    if (result.isDone()) {
      return;
    }
    if (next >= addresses.size()) {
      LlmPoolException f = lastFailure;
      fail(
          f != null
              ? f
              : new ConnectFailedException(origin, "no address to connect to", false, null));
      return;
    }
    InetSocketAddress address = new InetSocketAddress(addresses.get(next++), origin.port());
    if (listening) {
      emit(() -> events.connectStart(call, address));
    }
    SslHandler[] ssl = new SslHandler[1];
    ChannelFuture cf =
        transport
            .bootstrap(loop)
            .handler(
                new ChannelInitializer<Channel>() {
                  @Override
                  protected void initChannel(Channel ch) {
                    if (origin.isTls()) {
                      SslHandler h = newSslHandler(ch);
                      ssl[0] = h;
                      ch.pipeline().addLast("ssl", h);
                    }
                    ch.pipeline().addLast(ErrorSink.NAME, ErrorSink.INSTANCE);
                  }
                })
            .connect(address);
    cf.addListener(f -> afterTcp(cf.channel(), address, ssl[0], f));
  }

  private SslHandler newSslHandler(Channel ch) {
    boolean offerH2 = !settings.forcesHttp1(origin);
    SslHandler h =
        transport.tls.context(offerH2).newHandler(ch.alloc(), origin.host(), origin.port());
    h.setHandshakeTimeoutMillis(settings.timeouts.connect().toMillis());
    if (transport.tls.verifyHostOnEngine()) {
      SSLEngine engine = h.engine();
      SSLParameters p = engine.getSSLParameters();
      p.setEndpointIdentificationAlgorithm("HTTPS");
      engine.setSSLParameters(p);
    }
    return h;
  }

  private void afterTcp(
      Channel ch, InetSocketAddress address, @Nullable SslHandler ssl, Future<?> f) {
    if (!f.isSuccess()) {
      Throwable cause = f.cause();
      LlmPoolException e;
      if (cause instanceof io.netty.channel.ConnectTimeoutException) {
        e =
            new ConnectTimeoutException(
                origin,
                "TCP connect to " + address + " timed out",
                settings.timeouts.connect(),
                false,
                cause);
      } else {
        e =
            new ConnectFailedException(
                origin, "could not connect to " + address + ": " + describe(cause), false, cause);
      }
      lastFailure = e;
      if (listening) {
        emit(() -> events.connectFailed(call, address, e));
      }
      NettyConnection.closeChannel(ch);
      connectNext();
      return;
    }
    if (result.isDone()) {
      NettyConnection.closeChannel(ch);
      return;
    }
    if (listening) {
      emit(() -> events.connectEnd(call, address));
    }
    if (ssl == null) {
      boolean h2c = settings.usesH2c(origin);
      finish(ch, h2c);
      return;
    }
    if (listening) {
      emit(() -> events.tlsStart(call));
    }
    ssl.handshakeFuture().addListener(hf -> afterTls(ch, address, ssl, hf));
  }

  private void afterTls(Channel ch, InetSocketAddress address, SslHandler ssl, Future<?> hf) {
    if (!hf.isSuccess()) {
      Throwable cause = hf.cause();
      LlmPoolException e;
      if (cause instanceof SslHandshakeTimeoutException) {
        e =
            new ConnectTimeoutException(
                origin,
                "TLS handshake with " + address + " timed out",
                settings.timeouts.connect(),
                false,
                cause);
      } else {
        e =
            new TlsException(
                origin,
                "TLS handshake with " + address + " failed: " + describeTls(cause),
                false,
                cause);
      }
      if (listening) {
        emit(() -> events.connectFailed(call, address, e));
      }
      NettyConnection.closeChannel(ch);
      if (cause instanceof SslHandshakeTimeoutException) {
        // A silent address: another one may answer.
        lastFailure = e;
        connectNext();
      } else {
        fail(e);
      }
      return;
    }
    if (result.isDone()) {
      NettyConnection.closeChannel(ch);
      return;
    }
    String alpn = ssl.applicationProtocol();
    SSLSession session = ssl.engine().getSession();
    String protocol = session.getProtocol();
    String cipher = session.getCipherSuite();
    if (listening) {
      emit(() -> events.tlsEnd(call, protocol, cipher, alpn));
    }
    boolean h2 = ApplicationProtocolNames.HTTP_2.equals(alpn) && !settings.forcesHttp1(origin);
    finish(ch, h2);
  }

  private void finish(Channel ch, boolean h2) {
    NettyConnection conn;
    try {
      conn =
          h2
              ? new H2Connection(
                  settings,
                  transport.defaultHeaders,
                  transport.budget(origin),
                  ch,
                  origin,
                  poolListener,
                  connectionId)
              : new H1Connection(
                  settings, transport.defaultHeaders, ch, origin, poolListener, connectionId);
    } catch (RuntimeException e) {
      NettyConnection.closeChannel(ch);
      fail(new ConnectFailedException(origin, "could not set up the connection", false, e));
      return;
    }
    if (conn instanceof H2Connection h2c) {
      // Over TLS, ALPN already proved the server speaks HTTP/2, and its SETTINGS come only after
      // its side of the handshake, a round trip from now: hand the connection over at once with
      // one stream (capacityKnown() false keeps the pool from opening others meanwhile), so the
      // call that opened it does not wait. With h2c prior knowledge nothing has proved the server
      // speaks HTTP/2 yet: wait for its SETTINGS, so an HTTP/1.1-only server fails the connect
      // (not processed), not a request.
      boolean early = origin.isTls();
      ScheduledFuture<?> timer =
          loop.schedule(
              () -> {
                if (!h2c.firstSettings().isDone()) {
                  h2c.firstSettings()
                      .completeExceptionally(new io.netty.channel.ConnectTimeoutException());
                }
              },
              settings.timeouts.connect().toNanos(),
              TimeUnit.NANOSECONDS);
      var unused =
          h2c.firstSettings()
              .whenComplete(
                  (v, error) -> {
                    timer.cancel(false);
                    if (error == null) {
                      if (!early) {
                        handOver(conn, ch);
                      }
                      return;
                    }
                    conn.close();
                    if (early) {
                      // The pool has it: closing fails its exchanges by the usual rules.
                      log.debug("{}: {}", conn, noSettings(error).getMessage());
                    } else {
                      fail(noSettings(error));
                    }
                  });
      if (early) {
        h2c.handingOverBeforeSettings();
        handOver(conn, ch);
      }
      return;
    }
    handOver(conn, ch);
  }

  private LlmPoolException noSettings(Throwable error) {
    if (error instanceof io.netty.channel.ConnectTimeoutException) {
      return new ConnectTimeoutException(
          origin,
          "no HTTP/2 SETTINGS from the server within timeouts.connect",
          settings.timeouts.connect(),
          false,
          null);
    }
    String hint =
        origin.isTls()
            ? ""
            : " (is h2c prior knowledge right for this server? it may speak only HTTP/1.1)";
    return new ConnectFailedException(
        origin,
        "the HTTP/2 connection closed before the server's SETTINGS: " + describe(error) + hint,
        false,
        error);
  }

  private void handOver(NettyConnection conn, Channel ch) {
    log.debug("{} open to {}", conn, ch.remoteAddress());
    if (!result.complete(conn)) {
      conn.close();
    }
  }

  private void fail(LlmPoolException e) {
    result.completeExceptionally(e);
  }

  /** Emits an event; callers skip building it when nobody listens (see {@link #listening}). */
  private void emit(Runnable event) {
    try {
      event.run();
    } catch (RuntimeException e) {
      log.warn("event listener threw; ignored", e);
    }
  }

  /**
   * A handshake failure in words: a server that hangs up mid-handshake (an overloaded proxy, a port
   * that is not TLS) surfaces from Netty as a closed-channel exception with no message, which would
   * read like an internal error.
   */
  static String describeTls(@Nullable Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (c instanceof ClosedChannelException) {
        return "the server closed the connection during the TLS handshake";
      }
      String m = c.getMessage();
      if (c instanceof SSLHandshakeException
          && m != null
          && m.contains("terminated the handshake")) {
        return "the server closed the connection during the TLS handshake";
      }
      if (c.getCause() == c) {
        break;
      }
    }
    return describe(t);
  }

  private static String describe(@Nullable Throwable t) {
    if (t == null) {
      return "unknown error";
    }
    String m = t.getMessage();
    return m == null || m.isEmpty() ? t.getClass().getSimpleName() : m;
  }

  /** The call a pre-warmed connection's events are reported for: id 0. */
  private record PrewarmCall(Origin origin) implements EventListener.CallInfo {
    @Override
    public long id() {
      return 0;
    }

    @Override
    public String method() {
      return "PREWARM";
    }

    @Override
    public String path() {
      return "";
    }
  }
}
