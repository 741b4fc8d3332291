package dev.llmpool.bench.peers.clients;

import dev.llmpool.bench.peers.PeerClient;
import dev.llmpool.bench.peers.PeerClientFactory;
import dev.llmpool.bench.peers.PoolSettings;
import dev.llmpool.bench.peers.Protocol;
import dev.llmpool.bench.peers.Target;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * The JDK's {@code java.net.http.HttpClient}, {@code sendAsync} with {@code
 * BodyHandlers.ofByteArray()}. Its pool is set through system properties, read once per JVM when
 * the first client is built: this adapter sets them before that.
 */
public final class JdkPeer implements PeerClientFactory {
  @Override
  public String name() {
    return "jdk";
  }

  @Override
  public String description() {
    return "JDK java.net.http.HttpClient " + Runtime.version().feature() + ", sendAsync";
  }

  @Override
  public @Nullable String unsupported(Protocol protocol) {
    return protocol == Protocol.H2C
        ? "no prior-knowledge h2c: the JDK client only upgrades from HTTP/1.1 (Upgrade: h2c), which"
            + " nginx does not offer"
        : null;
  }

  @Override
  public List<String> settings(PoolSettings pool) {
    return List.of(
        "-Djdk.httpclient.connectionPoolSize="
            + pool.maxConnectionsPerHost()
            + " (idle connections kept; the JDK client has no cap on open connections)",
        "-Djdk.httpclient.keepalive.timeout="
            + pool.idleTimeout().toSeconds()
            + " and -Djdk.httpclient.keepalive.timeout.h2="
            + pool.idleTimeout().toSeconds(),
        "version(HTTP_1_1) for h1, version(HTTP_2) for h2 (one connection per origin, as the JDK"
            + " client does)",
        "default executor (cached thread pool), sslContext trusting the bench certificate");
  }

  @Override
  public PeerClient open(Target target, Protocol protocol, PoolSettings pool, String cellTag)
      throws Exception {
    // Read by the JDK's connection pool once, when the first HttpClient is built.
    System.setProperty(
        "jdk.httpclient.connectionPoolSize", Integer.toString(pool.maxConnectionsPerHost()));
    System.setProperty(
        "jdk.httpclient.keepalive.timeout", Long.toString(pool.idleTimeout().toSeconds()));
    System.setProperty(
        "jdk.httpclient.keepalive.timeout.h2", Long.toString(pool.idleTimeout().toSeconds()));
    HttpClient client =
        HttpClient.newBuilder()
            .version(
                protocol == Protocol.H1 ? HttpClient.Version.HTTP_1_1 : HttpClient.Version.HTTP_2)
            .sslContext(target.sslContext())
            .connectTimeout(Duration.ofSeconds(10))
            .build();
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

    private HttpRequest request(URI uri, byte[] body) {
      return HttpRequest.newBuilder(uri)
          .header("authorization", authorization)
          .header("content-type", "application/json")
          .header(Target.CELL_HEADER, tag)
          .POST(HttpRequest.BodyPublishers.ofByteArray(body))
          .build();
    }

    @Override
    public void post(URI uri, Outcome outcome) {
      var unused =
          client
              .sendAsync(request(uri, chatBody), HttpResponse.BodyHandlers.ofByteArray())
              .whenComplete(
                  (response, error) -> {
                    if (error != null) {
                      outcome.failed(error);
                    } else {
                      outcome.completed(response.statusCode(), response.body().length);
                    }
                  });
    }

    @Override
    public void stream(URI uri, StreamSink sink) {
      HttpResponse.BodyHandler<Void> handler =
          info -> {
            sink.started(info.statusCode());
            return HttpResponse.BodySubscribers.ofByteArrayConsumer(
                piece -> piece.ifPresent(bytes -> sink.content(ByteBuffer.wrap(bytes))));
          };
      var unused =
          client
              .sendAsync(request(uri, streamBody), handler)
              .whenComplete(
                  (response, error) -> {
                    if (error != null) {
                      sink.failed(error);
                    } else {
                      sink.completed();
                    }
                  });
    }

    @Override
    public void close() {
      // HttpClient is AutoCloseable only from JDK 21; on 17 dropping it lets its threads end.
      if (client instanceof AutoCloseable c) {
        try {
          c.close();
        } catch (Exception e) {
          // closing is best effort between cells
        }
      }
    }
  }
}
