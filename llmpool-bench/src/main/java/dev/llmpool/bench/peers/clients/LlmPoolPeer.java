package dev.llmpool.bench.peers.clients;

import dev.llmpool.Limits;
import dev.llmpool.LlmPool;
import dev.llmpool.bench.peers.PeerClient;
import dev.llmpool.bench.peers.PeerClientFactory;
import dev.llmpool.bench.peers.PoolSettings;
import dev.llmpool.bench.peers.Protocol;
import dev.llmpool.bench.peers.Target;
import dev.llmpool.http.HttpRequest;
import dev.llmpool.http.StreamingResponse;
import java.net.URI;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.Flow;
import org.jspecify.annotations.Nullable;

/**
 * llmpool itself, through its public HTTP API: {@code LlmPool.sendAsync} for the whole answer, and
 * {@code LlmPool.streamAsync} with the body's {@link Flow.Publisher} for streams. As an application
 * writes it: the pool has the protocol's listener as its base URL and the bearer token, and every
 * call is a new {@link HttpRequest} with a relative target and a JSON body.
 */
public final class LlmPoolPeer implements PeerClientFactory {
  private static final String JSON = "application/json";

  @Override
  public String name() {
    return "llmpool";
  }

  @Override
  public String description() {
    return "llmpool " + LlmPool.VERSION + " LlmPool.sendAsync / streamAsync";
  }

  @Override
  public @Nullable String unsupported(Protocol protocol) {
    return null;
  }

  @Override
  public List<String> settings(PoolSettings pool) {
    return List.of(
        "Limits maxConnections("
            + pool.maxConnectionsPerHost()
            + "), maxConnectionsPerHost("
            + pool.maxConnectionsPerHost()
            + "), maxIdleConnections("
            + pool.maxConnectionsPerHost()
            + "), keepAliveExpiry("
            + pool.idleTimeout().toSeconds()
            + " s), maxPendingAcquires("
            + pool.maxPending()
            + "); maxConnectionLifetime and Timeouts at their defaults",
        "h1: http2(false); h2: http2(true) (ALPN, the default); h2c: h2cPriorKnowledge(host:port)",
        "trustedCertificates(the bench certificate) (host names verified); TLS by BoringSSL"
            + " (netty-tcnative on the bench's class path) and epoll, llmpool's defaults when"
            + " present; default I/O threads",
        "baseUrl(the listener), bearerToken(…), defaultHeader(x-bench-cell, …); each call"
            + " HttpRequest.post(path).bodyWithoutCopy(body, JSON) (the fixed body is never changed, as the other adapters send theirs without a copy); the answer is read whole into the"
            + " HttpResponse's byte[] (its length taken with bodyLength(), not copied by body())");
  }

  @Override
  public PeerClient open(Target target, Protocol protocol, PoolSettings pool, String cellTag) {
    URI base = target.uri(protocol, "");
    LlmPool.Builder b =
        LlmPool.builder()
            .baseUrl(base)
            .bearerToken(target.bearerToken())
            .defaultHeader(Target.CELL_HEADER, cellTag)
            .limits(
                Limits.builder()
                    .maxConnections(pool.maxConnectionsPerHost())
                    .maxConnectionsPerHost(pool.maxConnectionsPerHost())
                    .maxIdleConnections(pool.maxConnectionsPerHost())
                    .keepAliveExpiry(pool.idleTimeout())
                    .maxPendingAcquires(pool.maxPending())
                    .build())
            .trustedCertificates(target.caCertificate());
    switch (protocol) {
      case H1 -> b.http2(false);
      case H2 -> b.http2(true);
      case H2C -> b.http2(true).h2cPriorKnowledge(base.getHost() + ":" + base.getPort());
    }
    return new Client(b.build(), base, target);
  }

  private static final class Client implements PeerClient {
    private final LlmPool pool;
    private final String baseOrigin;
    private final byte[] chatBody;
    private final byte[] streamBody;
    private volatile @Nullable Target2 lastTarget;

    Client(LlmPool pool, URI base, Target target) {
      this.pool = pool;
      this.baseOrigin = base.getScheme() + "://" + base.getRawAuthority();
      this.chatBody = target.chatBody();
      this.streamBody = target.streamBody();
    }

    /**
     * The target as an application writes it: a constant path relative to the base URL (the harness
     * sends one URI per cell, so the last one is remembered), absolute for other origins.
     */
    @SuppressWarnings("ReferenceEquality") // the same instance, the cheap check; a miss recomputes
    private String target(URI uri) {
      Target2 last = lastTarget;
      if (last != null && last.uri == uri) {
        return last.target;
      }
      String s = uri.toString();
      String t = s.startsWith(baseOrigin + "/") ? s.substring(baseOrigin.length()) : s;
      lastTarget = new Target2(uri, t);
      return t;
    }

    @Override
    public void post(URI uri, Outcome outcome) {
      var unused =
          pool.sendAsync(HttpRequest.post(target(uri)).bodyWithoutCopy(chatBody, JSON).build())
              .whenComplete(
                  (r, e) -> {
                    if (e != null) {
                      outcome.failed(e);
                    } else {
                      // The whole body is in the response's array; body() would copy it again.
                      outcome.completed(r.status(), r.bodyLength());
                    }
                  });
    }

    @Override
    public void stream(URI uri, StreamSink sink) {
      var unused =
          pool.streamAsync(HttpRequest.post(target(uri)).bodyWithoutCopy(streamBody, JSON).build())
              .whenComplete(
                  (r, e) -> {
                    if (e != null) {
                      sink.failed(e);
                      return;
                    }
                    sink.started(r.status());
                    r.publisher().subscribe(new Reader(r, sink));
                  });
    }

    @Override
    public void close() {
      pool.close();
    }
  }

  private record Target2(URI uri, String target) {}

  /** Hands each piece to the sink as it arrives; lets the next one in after each. */
  private static final class Reader implements Flow.Subscriber<ByteBuffer> {
    private final StreamingResponse response;
    private final PeerClient.StreamSink sink;
    private Flow.@Nullable Subscription subscription;

    Reader(StreamingResponse response, PeerClient.StreamSink sink) {
      this.response = response;
      this.sink = sink;
    }

    @Override
    public void onSubscribe(Flow.Subscription s) {
      subscription = s;
      s.request(1);
    }

    @Override
    public void onNext(ByteBuffer item) {
      sink.content(item);
      Flow.Subscription s = subscription;
      if (s != null) {
        s.request(1);
      }
    }

    @Override
    public void onError(Throwable error) {
      response.close();
      sink.failed(error);
    }

    @Override
    public void onComplete() {
      response.close();
      sink.completed();
    }
  }
}
