package dev.llmpool.bench.peers.clients;

import dev.llmpool.bench.peers.PeerClient;
import dev.llmpool.bench.peers.PeerClientFactory;
import dev.llmpool.bench.peers.PoolSettings;
import dev.llmpool.bench.peers.Protocol;
import dev.llmpool.bench.peers.Target;
import java.net.URI;
import java.nio.ByteBuffer;
import java.util.List;
import org.eclipse.jetty.client.BufferingResponseListener;
import org.eclipse.jetty.client.BytesRequestContent;
import org.eclipse.jetty.client.HttpClient;
import org.eclipse.jetty.client.HttpClientTransport;
import org.eclipse.jetty.client.Request;
import org.eclipse.jetty.client.Response;
import org.eclipse.jetty.client.Result;
import org.eclipse.jetty.client.transport.HttpClientTransportOverHTTP;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpMethod;
import org.eclipse.jetty.http2.client.HTTP2Client;
import org.eclipse.jetty.http2.client.transport.HttpClientTransportOverHTTP2;
import org.eclipse.jetty.io.ClientConnector;
import org.eclipse.jetty.util.Jetty;
import org.eclipse.jetty.util.ssl.SslContextFactory;
import org.jspecify.annotations.Nullable;

/**
 * Jetty 12 {@code HttpClient}, {@code Request.send(Response.Listener)} with a {@code
 * BufferingResponseListener}; HTTP/1.1 through {@code HttpClientTransportOverHTTP}, h2 and h2c
 * through {@code HttpClientTransportOverHTTP2}.
 */
public final class JettyPeer implements PeerClientFactory {
  @Override
  public String name() {
    return "jetty";
  }

  @Override
  public String description() {
    return "Jetty HttpClient " + Jetty.VERSION + ", async send with BufferingResponseListener";
  }

  @Override
  public @Nullable String unsupported(Protocol protocol) {
    return null;
  }

  @Override
  public List<String> settings(PoolSettings pool) {
    return List.of(
        "setMaxConnectionsPerDestination(" + pool.maxConnectionsPerHost() + ")",
        "setIdleTimeout(" + pool.idleTimeout().toMillis() + " ms)",
        "setMaxRequestsQueuedPerDestination(" + pool.maxPending() + ")",
        "HttpClientTransportOverHTTP for h1; HttpClientTransportOverHTTP2(HTTP2Client) for h2 (ALPN"
            + " through jetty-alpn-java-client) and h2c (prior knowledge)",
        "SslContextFactory.Client with an SSLContext trusting the bench certificate (host name"
            + " verification on); default QueuedThreadPool");
  }

  @Override
  public PeerClient open(Target target, Protocol protocol, PoolSettings pool, String cellTag)
      throws Exception {
    SslContextFactory.Client tls = new SslContextFactory.Client();
    tls.setSslContext(target.sslContext());
    ClientConnector connector = new ClientConnector();
    connector.setSslContextFactory(tls);
    HttpClientTransport transport =
        protocol == Protocol.H1
            ? new HttpClientTransportOverHTTP(connector)
            : new HttpClientTransportOverHTTP2(new HTTP2Client(connector));
    HttpClient client = new HttpClient(transport);
    client.setMaxConnectionsPerDestination(pool.maxConnectionsPerHost());
    client.setIdleTimeout(pool.idleTimeout().toMillis());
    client.setMaxRequestsQueuedPerDestination(pool.maxPending());
    client.start();
    return new Client(client, target, cellTag);
  }

  private static final class Client implements PeerClient {
    private final HttpClient client;
    private final String authorization;
    private final String tag;
    private final byte[] chatBody;
    private final byte[] streamBody;

    Client(HttpClient client, Target target, String tag) {
      this.client = client;
      this.authorization = target.authorization();
      this.tag = tag;
      this.chatBody = target.chatBody();
      this.streamBody = target.streamBody();
    }

    private Request request(URI uri, byte[] body) {
      return client
          .newRequest(uri)
          .method(HttpMethod.POST)
          .headers(h -> h.put(HttpHeader.AUTHORIZATION, authorization).put(Target.CELL_HEADER, tag))
          .body(new BytesRequestContent("application/json", body));
    }

    @Override
    public void post(URI uri, Outcome outcome) {
      request(uri, chatBody)
          .send(
              new BufferingResponseListener() {
                @Override
                public void onComplete(Result result) {
                  if (result.isFailed()) {
                    outcome.failed(result.getFailure());
                  } else {
                    outcome.completed(result.getResponse().getStatus(), getContent().length);
                  }
                }
              });
    }

    @Override
    public void stream(URI uri, StreamSink sink) {
      request(uri, streamBody)
          .send(
              new Response.Listener() {
                @Override
                public void onHeaders(Response response) {
                  sink.started(response.getStatus());
                }

                @Override
                public void onContent(Response response, ByteBuffer content) {
                  sink.content(content);
                }

                @Override
                public void onComplete(Result result) {
                  if (result.isFailed()) {
                    sink.failed(result.getFailure());
                  } else {
                    sink.completed();
                  }
                }
              });
    }

    @Override
    public void close() {
      try {
        client.stop();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while stopping Jetty's HttpClient", e);
      } catch (Exception e) {
        throw new IllegalStateException("stopping Jetty's HttpClient failed", e);
      }
    }
  }
}
