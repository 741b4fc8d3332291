package dev.llmpool.bench.peers.clients;

import dev.llmpool.bench.peers.PeerClient;
import dev.llmpool.bench.peers.PeerClientFactory;
import dev.llmpool.bench.peers.PoolSettings;
import dev.llmpool.bench.peers.Protocol;
import dev.llmpool.bench.peers.Target;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.HttpHeaderNames;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Mono;
import reactor.netty.http.Http2SslContextSpec;
import reactor.netty.http.HttpProtocol;
import reactor.netty.http.client.Http2AllocationStrategy;
import reactor.netty.http.client.HttpClient;
import reactor.netty.resources.ConnectionProvider;
import reactor.netty.resources.LoopResources;
import reactor.netty.tcp.SslProvider;

/**
 * Reactor Netty's {@code HttpClient}, {@code post().send(…).responseSingle(… asByteArray())}. With
 * {@code strict}, the pool gets {@code Http2AllocationStrategy…strictConnectionReuse(true)}: by
 * default Reactor Netty opens a new HTTP/2 connection for a request that finds every open one busy,
 * up to the pool's maximum, instead of adding a stream to one of them.
 */
public final class ReactorNettyPeer implements PeerClientFactory {
  private final boolean strict;

  /** The client as configured out of the box, or with strict HTTP/2 connection reuse. */
  public ReactorNettyPeer(boolean strict) {
    this.strict = strict;
  }

  @Override
  public String name() {
    return strict ? "reactor-strict" : "reactor";
  }

  @Override
  public String description() {
    Package p = HttpClient.class.getPackage();
    String version = p == null ? null : p.getImplementationVersion();
    return "Reactor Netty "
        + (version == null ? "1.3" : version)
        + " HttpClient"
        + (strict ? ", Http2AllocationStrategy strictConnectionReuse(true)" : "");
  }

  @Override
  public @Nullable String unsupported(Protocol protocol) {
    return strict && protocol == Protocol.H1
        ? "the allocation strategy only changes HTTP/2: same as reactor"
        : null;
  }

  @Override
  public boolean measuresMemory() {
    return !strict;
  }

  @Override
  public List<String> settings(PoolSettings pool) {
    List<String> s = new ArrayList<>();
    s.add(
        "ConnectionProvider.builder maxConnections("
            + pool.maxConnectionsPerHost()
            + "), maxIdleTime("
            + pool.idleTimeout().toSeconds()
            + " s), pendingAcquireMaxCount("
            + pool.maxPending()
            + ")");
    if (strict) {
      s.add(
          "allocationStrategy(Http2AllocationStrategy.builder().maxConnections("
              + pool.maxConnectionsPerHost()
              + ").minConnections(1).strictConnectionReuse(true))");
    }
    s.add("protocol HTTP11 (h1), H2 (h2 over TLS), H2C (prior knowledge)");
    s.add(
        "h2: secure(Http2SslContextSpec.forClient() with a trust manager for the bench"
            + " certificate); TLS by BoringSSL (netty-tcnative, on the bench's class path) and"
            + " epoll, both Reactor Netty's defaults when present");
    s.add(
        "runOn(LoopResources.create(…)) per client, default size (max(CPUs, 4) event loops), so"
            + " each cell starts and ends with its own threads");
    return s;
  }

  @Override
  public PeerClient open(Target target, Protocol protocol, PoolSettings pool, String cellTag)
      throws Exception {
    ConnectionProvider.Builder pb =
        ConnectionProvider.builder("bench-" + cellTag)
            .maxConnections(pool.maxConnectionsPerHost())
            .maxIdleTime(pool.idleTimeout())
            .pendingAcquireMaxCount(pool.maxPending());
    if (strict) {
      pb.allocationStrategy(
          Http2AllocationStrategy.builder()
              .maxConnections(pool.maxConnectionsPerHost())
              .minConnections(1)
              .strictConnectionReuse(true)
              .build());
    }
    ConnectionProvider provider = pb.build();
    LoopResources loops = LoopResources.create("bench-" + cellTag);
    HttpClient client =
        HttpClient.create(provider)
            .runOn(loops)
            .protocol(
                switch (protocol) {
                  case H1 -> HttpProtocol.HTTP11;
                  case H2 -> HttpProtocol.H2;
                  case H2C -> HttpProtocol.H2C;
                })
            .headers(
                h ->
                    h.set(HttpHeaderNames.AUTHORIZATION, target.authorization())
                        .set(HttpHeaderNames.CONTENT_TYPE, "application/json")
                        .set(Target.CELL_HEADER, cellTag));
    if (protocol == Protocol.H2) {
      var trust = target.trustManagerFactory();
      SslProvider.GenericSslContextSpec<?> tls =
          Http2SslContextSpec.forClient().configure(b -> b.trustManager(trust));
      client = client.secure(spec -> spec.sslContext(tls));
    }
    return new Client(client, provider, loops, target);
  }

  private static final class Client implements PeerClient {
    private final HttpClient client;
    private final ConnectionProvider provider;
    private final LoopResources loops;
    private final byte[] chatBody;
    private final byte[] streamBody;

    Client(HttpClient client, ConnectionProvider provider, LoopResources loops, Target target) {
      this.client = client;
      this.provider = provider;
      this.loops = loops;
      this.chatBody = target.chatBody();
      this.streamBody = target.streamBody();
    }

    @Override
    public void post(URI uri, Outcome outcome) {
      var unused =
          client
              .post()
              .uri(uri)
              .send(Mono.fromCallable(() -> Unpooled.wrappedBuffer(chatBody)))
              .responseSingle(
                  (response, body) ->
                      body.asByteArray()
                          .defaultIfEmpty(new byte[0])
                          .map(bytes -> new int[] {response.status().code(), bytes.length}))
              .subscribe(r -> outcome.completed(r[0], r[1]), outcome::failed);
    }

    @Override
    public void stream(URI uri, StreamSink sink) {
      var unused =
          client
              .post()
              .uri(uri)
              .send(Mono.fromCallable(() -> Unpooled.wrappedBuffer(streamBody)))
              .response(
                  (response, body) -> {
                    sink.started(response.status().code());
                    return body.doOnNext(buf -> sink.content(buf.nioBuffer())).then();
                  })
              .subscribe(ignored -> {}, sink::failed, sink::completed);
    }

    @Override
    public void close() {
      provider.disposeLater().block();
      loops.disposeLater().block();
    }
  }
}
