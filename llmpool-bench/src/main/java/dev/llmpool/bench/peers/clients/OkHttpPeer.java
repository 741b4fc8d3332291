package dev.llmpool.bench.peers.clients;

import dev.llmpool.bench.peers.PeerClient;
import dev.llmpool.bench.peers.PeerClientFactory;
import dev.llmpool.bench.peers.PoolSettings;
import dev.llmpool.bench.peers.Protocol;
import dev.llmpool.bench.peers.Target;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.TimeUnit;
import okhttp3.Call;
import okhttp3.Callback;
import okhttp3.ConnectionPool;
import okhttp3.Dispatcher;
import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;
import okhttp3.ResponseBody;
import org.jspecify.annotations.Nullable;

/** OkHttp 5 ({@code okhttp-jvm}), {@code Call.enqueue} with {@code ResponseBody.bytes()}. */
public final class OkHttpPeer implements PeerClientFactory {
  private static final MediaType JSON = MediaType.get("application/json");

  @Override
  public String name() {
    return "okhttp";
  }

  @Override
  public String description() {
    return "OkHttp " + okhttp3.OkHttp.VERSION + " (okhttp-jvm), Call.enqueue";
  }

  @Override
  public @Nullable String unsupported(Protocol protocol) {
    return null;
  }

  @Override
  public List<String> settings(PoolSettings pool) {
    return List.of(
        "ConnectionPool(maxIdleConnections="
            + pool.maxConnectionsPerHost()
            + ", keepAliveDuration="
            + pool.idleTimeout().toSeconds()
            + " s)",
        "Dispatcher maxRequestsPerHost="
            + pool.maxConnectionsPerHost()
            + " (OkHttp has no connection cap; this caps calls in flight per host, so HTTP/1.1 uses"
            + " at most that many connections), maxRequests="
            + pool.maxPending(),
        "protocols [HTTP_1_1] for h1, [HTTP_2, HTTP_1_1] (ALPN) for h2, [H2_PRIOR_KNOWLEDGE] for h2c",
        "sslSocketFactory from an SSLContext trusting the bench certificate; default timeouts");
  }

  @Override
  public PeerClient open(Target target, Protocol protocol, PoolSettings pool, String cellTag)
      throws Exception {
    Dispatcher dispatcher = new Dispatcher();
    dispatcher.setMaxRequests(pool.maxPending());
    dispatcher.setMaxRequestsPerHost(pool.maxConnectionsPerHost());
    OkHttpClient.Builder b =
        new OkHttpClient.Builder()
            .dispatcher(dispatcher)
            .connectionPool(
                new ConnectionPool(
                    pool.maxConnectionsPerHost(),
                    pool.idleTimeout().toMillis(),
                    TimeUnit.MILLISECONDS))
            .sslSocketFactory(target.sslContext().getSocketFactory(), target.trustManager());
    b.protocols(
        switch (protocol) {
          case H1 -> List.of(okhttp3.Protocol.HTTP_1_1);
          case H2 -> List.of(okhttp3.Protocol.HTTP_2, okhttp3.Protocol.HTTP_1_1);
          case H2C -> List.of(okhttp3.Protocol.H2_PRIOR_KNOWLEDGE);
        });
    return new Client(b.build(), target, cellTag);
  }

  private static final class Client implements PeerClient {
    private final OkHttpClient client;
    private final String authorization;
    private final String tag;
    private final byte[] chatBody;
    private final byte[] streamBody;

    Client(OkHttpClient client, Target target, String tag) {
      this.client = client;
      this.authorization = target.authorization();
      this.tag = tag;
      this.chatBody = target.chatBody();
      this.streamBody = target.streamBody();
    }

    private Request request(URI uri, byte[] body) {
      return new Request.Builder()
          .url(uri.toString())
          .header("authorization", authorization)
          .header(Target.CELL_HEADER, tag)
          .post(RequestBody.create(body, JSON))
          .build();
    }

    @Override
    public void post(URI uri, Outcome outcome) {
      client
          .newCall(request(uri, chatBody))
          .enqueue(
              new Callback() {
                @Override
                public void onFailure(Call call, IOException e) {
                  outcome.failed(e);
                }

                @Override
                public void onResponse(Call call, Response response) {
                  int status;
                  byte[] body;
                  try (response) {
                    status = response.code();
                    body = response.body().bytes();
                  } catch (IOException | RuntimeException e) {
                    outcome.failed(e);
                    return;
                  }
                  outcome.completed(status, body.length);
                }
              });
    }

    @Override
    public void stream(URI uri, StreamSink sink) {
      client
          .newCall(request(uri, streamBody))
          .enqueue(
              new Callback() {
                @Override
                public void onFailure(Call call, IOException e) {
                  sink.failed(e);
                }

                @Override
                public void onResponse(Call call, Response response) {
                  try (response) {
                    sink.started(response.code());
                    ResponseBody body = response.body();
                    byte[] buffer = new byte[8192];
                    try (InputStream in = body.byteStream()) {
                      for (int n; (n = in.read(buffer)) != -1; ) {
                        sink.content(ByteBuffer.wrap(buffer, 0, n));
                      }
                    }
                  } catch (IOException | RuntimeException e) {
                    sink.failed(e);
                    return;
                  }
                  sink.completed();
                }
              });
    }

    @Override
    public void close() {
      client.dispatcher().executorService().shutdown();
      client.connectionPool().evictAll();
    }
  }
}
