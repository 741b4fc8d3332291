package dev.llmpool.bench.peers.clients;

import dev.llmpool.bench.peers.PeerClient;
import dev.llmpool.bench.peers.PeerClientFactory;
import dev.llmpool.bench.peers.PoolSettings;
import dev.llmpool.bench.peers.Protocol;
import dev.llmpool.bench.peers.Target;
import java.net.URI;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import org.apache.hc.client5.http.async.methods.AbstractBinResponseConsumer;
import org.apache.hc.client5.http.async.methods.SimpleHttpRequest;
import org.apache.hc.client5.http.async.methods.SimpleHttpResponse;
import org.apache.hc.client5.http.async.methods.SimpleRequestBuilder;
import org.apache.hc.client5.http.async.methods.SimpleRequestProducer;
import org.apache.hc.client5.http.config.TlsConfig;
import org.apache.hc.client5.http.impl.async.CloseableHttpAsyncClient;
import org.apache.hc.client5.http.impl.async.HttpAsyncClients;
import org.apache.hc.client5.http.impl.nio.PoolingAsyncClientConnectionManager;
import org.apache.hc.client5.http.impl.nio.PoolingAsyncClientConnectionManagerBuilder;
import org.apache.hc.client5.http.ssl.ClientTlsStrategyBuilder;
import org.apache.hc.core5.concurrent.FutureCallback;
import org.apache.hc.core5.http.ContentType;
import org.apache.hc.core5.http.HttpResponse;
import org.apache.hc.core5.http2.HttpVersionPolicy;
import org.apache.hc.core5.io.CloseMode;
import org.apache.hc.core5.util.TimeValue;
import org.apache.hc.core5.util.VersionInfo;
import org.jspecify.annotations.Nullable;

/**
 * Apache HttpClient 5 async ({@code HttpAsyncClients.custom()} with a {@code
 * PoolingAsyncClientConnectionManager}), {@code execute(SimpleHttpRequest, FutureCallback)}. The
 * protocol is chosen with {@code TlsConfig}'s version policy: FORCE_HTTP_1, NEGOTIATE (ALPN) over
 * TLS, FORCE_HTTP_2 over plain TCP (prior-knowledge h2c). With {@code multiplexing}, the pool's
 * {@code setMessageMultiplexing(true)} lets several requests share one HTTP/2 connection.
 */
public final class ApachePeer implements PeerClientFactory {
  private final boolean multiplexing;

  /** The client as configured out of the box, or with HTTP/2 message multiplexing. */
  public ApachePeer(boolean multiplexing) {
    this.multiplexing = multiplexing;
  }

  @Override
  public String name() {
    return multiplexing ? "apache-mux" : "apache";
  }

  @Override
  public String description() {
    VersionInfo v =
        VersionInfo.loadVersionInfo("org.apache.hc.client5", ApachePeer.class.getClassLoader());
    return "Apache HttpClient "
        + (v == null ? "5" : v.getRelease())
        + " async"
        + (multiplexing ? ", setMessageMultiplexing(true)" : "");
  }

  @Override
  public @Nullable String unsupported(Protocol protocol) {
    return multiplexing && protocol == Protocol.H1 ? "multiplexing is HTTP/2 only" : null;
  }

  @Override
  public boolean measuresMemory() {
    return !multiplexing;
  }

  @Override
  public List<String> settings(PoolSettings pool) {
    List<String> s = new ArrayList<>();
    s.add(
        "PoolingAsyncClientConnectionManagerBuilder setMaxConnTotal("
            + pool.maxConnectionsPerHost()
            + "), setMaxConnPerRoute("
            + pool.maxConnectionsPerHost()
            + ")"
            + (multiplexing ? ", setMessageMultiplexing(true)" : ""));
    s.add("HttpAsyncClientBuilder evictIdleConnections(" + pool.idleTimeout().toSeconds() + " s)");
    s.add(
        "TlsConfig version policy FORCE_HTTP_1 (h1), NEGOTIATE (h2: ALPN), FORCE_HTTP_2 (h2c: prior"
            + " knowledge)");
    s.add(
        "ClientTlsStrategyBuilder with an SSLContext trusting the bench certificate (default host"
            + " name verifier); default IOReactorConfig (one I/O thread per CPU)");
    return s;
  }

  @Override
  public PeerClient open(Target target, Protocol protocol, PoolSettings pool, String cellTag)
      throws Exception {
    HttpVersionPolicy policy =
        switch (protocol) {
          case H1 -> HttpVersionPolicy.FORCE_HTTP_1;
          case H2 -> HttpVersionPolicy.NEGOTIATE;
          case H2C -> HttpVersionPolicy.FORCE_HTTP_2;
        };
    PoolingAsyncClientConnectionManagerBuilder cm =
        PoolingAsyncClientConnectionManagerBuilder.create()
            .setTlsStrategy(
                ClientTlsStrategyBuilder.create().setSslContext(target.sslContext()).buildAsync())
            .setMaxConnTotal(pool.maxConnectionsPerHost())
            .setMaxConnPerRoute(pool.maxConnectionsPerHost())
            .setDefaultTlsConfig(TlsConfig.custom().setVersionPolicy(policy).build());
    if (multiplexing) {
      cm.setMessageMultiplexing(true);
    }
    PoolingAsyncClientConnectionManager manager = cm.build();
    CloseableHttpAsyncClient client =
        HttpAsyncClients.custom()
            .setConnectionManager(manager)
            .evictIdleConnections(TimeValue.of(pool.idleTimeout()))
            .build();
    client.start();
    return new Client(client, target, cellTag);
  }

  private static final class Client implements PeerClient {
    private final CloseableHttpAsyncClient client;
    private final String authorization;
    private final String tag;
    private final byte[] chatBody;
    private final byte[] streamBody;

    Client(CloseableHttpAsyncClient client, Target target, String tag) {
      this.client = client;
      this.authorization = target.authorization();
      this.tag = tag;
      this.chatBody = target.chatBody();
      this.streamBody = target.streamBody();
    }

    private SimpleHttpRequest request(URI uri, byte[] body) {
      return SimpleRequestBuilder.post(uri)
          .setHeader("authorization", authorization)
          .setHeader(Target.CELL_HEADER, tag)
          .setBody(body, ContentType.APPLICATION_JSON)
          .build();
    }

    @Override
    public void post(URI uri, Outcome outcome) {
      var unused =
          client.execute(
              request(uri, chatBody),
              new FutureCallback<SimpleHttpResponse>() {
                @Override
                public void completed(SimpleHttpResponse response) {
                  byte[] body = response.getBodyBytes();
                  outcome.completed(response.getCode(), body == null ? 0 : body.length);
                }

                @Override
                public void failed(Exception e) {
                  outcome.failed(e);
                }

                @Override
                public void cancelled() {
                  outcome.failed(new IllegalStateException("cancelled"));
                }
              });
    }

    @Override
    public void stream(URI uri, StreamSink sink) {
      var unused =
          client.execute(
              SimpleRequestProducer.create(request(uri, streamBody)),
              new AbstractBinResponseConsumer<Void>() {
                @Override
                protected void start(HttpResponse response, @Nullable ContentType contentType) {
                  sink.started(response.getCode());
                }

                @Override
                protected @Nullable Void buildResult() {
                  return null;
                }

                @Override
                protected int capacityIncrement() {
                  return Integer.MAX_VALUE;
                }

                @Override
                protected void data(ByteBuffer src, boolean endOfStream) {
                  sink.content(src);
                }

                @Override
                public void releaseResources() {}
              },
              new FutureCallback<@Nullable Void>() {
                @Override
                public void completed(@Nullable Void result) {
                  sink.completed();
                }

                @Override
                public void failed(Exception e) {
                  sink.failed(e);
                }

                @Override
                public void cancelled() {
                  sink.failed(new IllegalStateException("cancelled"));
                }
              });
    }

    @Override
    public void close() {
      client.close(CloseMode.GRACEFUL);
    }
  }
}
