package dev.llmpool.http;

import static dev.llmpool.http.Calls.chat;
import static dev.llmpool.http.Calls.newId;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.llmpool.ConnectTimeoutException;
import dev.llmpool.Limits;
import dev.llmpool.LlmPool;
import dev.llmpool.LlmPoolException;
import dev.llmpool.PoolTimeoutException;
import dev.llmpool.Timeouts;
import dev.llmpool.WriteTimeoutException;
import dev.llmpool.testkit.MockLlmServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/** Each phase has its own limit and its own exception, naming the phase, the host and the limit. */
class PhaseTimeoutsTest {

  /**
   * Accepts connections and never answers (nor reads): a server that vanished into a black hole.
   */
  private static final class SilentServer implements AutoCloseable {
    final ServerSocket socket;
    final List<Socket> accepted = new CopyOnWriteArrayList<>();
    final Thread acceptor;

    SilentServer() throws IOException {
      socket = new ServerSocket();
      socket.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
      acceptor =
          new Thread(
              () -> {
                try {
                  while (true) {
                    Socket s = socket.accept();
                    s.setReceiveBufferSize(4096);
                    accepted.add(s);
                  }
                } catch (IOException e) {
                  // closed
                }
              });
      acceptor.setDaemon(true);
      acceptor.start();
    }

    int port() {
      return socket.getLocalPort();
    }

    @Override
    public void close() throws IOException {
      socket.close();
      for (Socket s : accepted) {
        s.close();
      }
    }
  }

  @Test
  void aTlsHandshakeThatNeverCompletesIsAConnectTimeout() throws Exception {
    try (SilentServer silent = new SilentServer();
        LlmPool pool =
            LlmPool.builder()
                .baseUrl("https://127.0.0.1:" + silent.port())
                .timeouts(Timeouts.builder().connect(Duration.ofMillis(300)).build())
                .build()) {
      assertThatThrownBy(() -> pool.send(HttpRequest.get("/models").build()))
          .isInstanceOf(ConnectTimeoutException.class)
          .hasMessageContaining("phase=connect")
          .hasMessageContaining("origin=https://127.0.0.1:" + silent.port())
          .satisfies(
              e -> {
                ConnectTimeoutException t = (ConnectTimeoutException) e;
                assertThat(t.limit()).isEqualTo(Duration.ofMillis(300));
                assertThat(t.requestMayHaveBeenProcessed()).isFalse();
              });
    }
  }

  @Test
  void aServerThatStopsReadingEndsTheCallWithAWriteTimeout() throws Exception {
    try (SilentServer silent = new SilentServer();
        LlmPool pool =
            LlmPool.builder()
                .baseUrl("http://127.0.0.1:" + silent.port())
                .http2(false)
                .timeouts(Timeouts.builder().write(Duration.ofMillis(300)).build())
                .build()) {
      byte[] big = new byte[64 * 1024 * 1024];
      assertThatThrownBy(
              () ->
                  pool.send(
                      HttpRequest.post("/upload").body(big, "application/octet-stream").build()))
          .isInstanceOf(WriteTimeoutException.class)
          .hasMessageContaining("timeouts.write (PT0.3S)")
          .hasMessageContaining("phase=write");
      assertThat(pool.stats().active()).isZero();
    }
  }

  @Test
  void waitingTooLongForAConnectionIsAPoolTimeout() throws Exception {
    try (MockLlmServer server = MockLlmServer.builder().http1Only(true).build().start();
        LlmPool pool =
            LlmPool.builder()
                .baseUrl(server.baseUrl() + "/v1")
                .bearerToken("sk-test")
                .http2(false)
                .limits(Limits.builder().maxConnections(1).maxConnectionsPerHost(1).build())
                .timeouts(Timeouts.builder().pool(Duration.ofMillis(200)).build())
                .build()) {
      CompletableFuture<HttpResponse> slow =
          pool.sendAsync(chat(newId()).header("x-mock-fault", "none;latency=3s").build());
      server.awaitStats(s -> s.requestsServed() == 1, Duration.ofSeconds(20));
      assertThatThrownBy(() -> pool.send(chat(newId()).build()))
          .isInstanceOf(PoolTimeoutException.class)
          .hasMessageContaining("phase=pool")
          .satisfies(
              e -> assertThat(((LlmPoolException) e).requestMayHaveBeenProcessed()).isFalse());
      assertThat(slow.get().status()).isEqualTo(200);
      assertThat(server.requestCount()).isEqualTo(1);
    }
  }
}
