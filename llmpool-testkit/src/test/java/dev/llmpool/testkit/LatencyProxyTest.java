package dev.llmpool.testkit;

import static dev.llmpool.testkit.Clients.CHAT;
import static dev.llmpool.testkit.Clients.send;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.llmpool.testkit.internal.Transports;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The proxy forwards bytes both ways in order, delays them (asserted as lower bounds only, so a
 * loaded machine cannot make these tests fail), counts connections and passes closes on.
 */
class LatencyProxyTest {

  /** A one-connection TCP server on 127.0.0.1 running {@code script} on the accepted socket. */
  private static final class Target implements AutoCloseable {
    final ServerSocket server;
    final CompletableFuture<Void> done = new CompletableFuture<>();

    Target(Consumer<Socket> script) throws IOException {
      server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
      Thread t =
          new Thread(
              () -> {
                try (Socket s = server.accept()) {
                  s.setSoTimeout(20_000);
                  script.accept(s);
                  done.complete(null);
                } catch (IOException | RuntimeException e) {
                  done.completeExceptionally(e);
                }
              },
              "latency-proxy-test-target");
      t.setDaemon(true);
      t.start();
    }

    int port() {
      return server.getLocalPort();
    }

    @Override
    public void close() throws IOException {
      server.close();
    }
  }

  private static HttpResponse<String> chatVia(HttpClient c, MockLlmServer s, LatencyProxy p) {
    return send(
        c,
        Clients.chat(s, CHAT)
            .uri(Clients.uri(p.baseUrl(s.tls() ? "https" : "http") + "/v1/chat/completions"))
            .build());
  }

  @Test
  void forwardsBothWaysAndCountsConnectionsAndBytes() {
    try (MockLlmServer s = MockLlmServer.builder().start();
        LatencyProxy p =
            LatencyProxy.builder().target(s.port()).rtt(Duration.ofMillis(10)).start()) {
      HttpClient c = Clients.client(s, HttpClient.Version.HTTP_1_1);
      for (int i = 0; i < 3; i++) {
        assertThat(chatVia(c, s, p).statusCode()).isEqualTo(200);
      }
      assertThat(p.connectionsAccepted()).isEqualTo(1);
      assertThat(p.connectionsOpen()).isEqualTo(1);
      assertThat(s.stats().connectionsAccepted()).isEqualTo(1);
      assertThat(p.bytesToServer()).isEqualTo(s.stats().bytesIn());
      assertThat(p.bytesToClient()).isEqualTo(s.stats().bytesOut());
    }
  }

  @Test
  void aColdRequestPaysTheHandshakeRoundTripAndAWarmOneAtLeastOne() {
    Duration rtt = Duration.ofMillis(80);
    try (MockLlmServer s = MockLlmServer.builder().start();
        LatencyProxy p = LatencyProxy.builder().target(s.port()).rtt(rtt).start()) {
      HttpClient c = Clients.client(s, HttpClient.Version.HTTP_1_1);
      long t0 = System.nanoTime();
      chatVia(c, s, p);
      Duration cold = Duration.ofNanos(System.nanoTime() - t0);
      t0 = System.nanoTime();
      chatVia(c, s, p);
      Duration warm = Duration.ofNanos(System.nanoTime() - t0);
      assertThat(cold).isGreaterThanOrEqualTo(rtt.multipliedBy(2)); // TCP, then the exchange
      assertThat(warm).isGreaterThanOrEqualTo(rtt);
    }
  }

  @Test
  void aColdTlsRequestPaysThreeRoundTrips() {
    Duration rtt = Duration.ofMillis(60);
    try (MockLlmServer s = MockLlmServer.builder().tls(true).start();
        LatencyProxy p = LatencyProxy.builder().target(s.port()).rtt(rtt).start()) {
      HttpClient c = Clients.client(s, HttpClient.Version.HTTP_2);
      long t0 = System.nanoTime();
      assertThat(chatVia(c, s, p).version()).isEqualTo(HttpClient.Version.HTTP_2);
      assertThat(Duration.ofNanos(System.nanoTime() - t0))
          .isGreaterThanOrEqualTo(rtt.multipliedBy(3));
      assertThat(s.stats().tlsHandshakesCompleted()).isEqualTo(1);
    }
  }

  @Test
  void withoutTheHandshakeRoundTripAColdRequestPaysOne() throws IOException {
    Duration rtt = Duration.ofMillis(60);
    try (Target t =
            new Target(
                sock -> {
                  try {
                    sock.getOutputStream().write(sock.getInputStream().read());
                  } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                  }
                });
        LatencyProxy p =
            LatencyProxy.builder().target(t.port()).rtt(rtt).handshakeRoundTrip(false).start();
        Socket client = new Socket("127.0.0.1", p.port())) {
      client.setSoTimeout(20_000);
      long t0 = System.nanoTime();
      client.getOutputStream().write(42);
      assertThat(client.getInputStream().read()).isEqualTo(42);
      assertThat(Duration.ofNanos(System.nanoTime() - t0)).isGreaterThanOrEqualTo(rtt);
    }
  }

  @Test
  void jitterNeverReordersBytes() throws Exception {
    int n = 300;
    try (Target t =
            new Target(
                sock -> {
                  try {
                    sock.getInputStream().transferTo(sock.getOutputStream());
                  } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                  }
                });
        LatencyProxy p =
            LatencyProxy.builder()
                .target(t.port())
                .rtt(Duration.ofMillis(2))
                .jitter(Duration.ofMillis(15))
                .seed(99)
                .start();
        Socket client = new Socket("127.0.0.1", p.port())) {
      client.setSoTimeout(20_000);
      client.setTcpNoDelay(true);
      DataOutputStream out = new DataOutputStream(client.getOutputStream());
      for (int i = 0; i < n; i++) {
        out.writeInt(i); // many small writes: many chunks, each with its own jitter
        out.flush();
      }
      DataInputStream in = new DataInputStream(client.getInputStream());
      for (int i = 0; i < n; i++) {
        assertThat(in.readInt()).isEqualTo(i);
      }
    }
  }

  @ParameterizedTest
  @EnumSource(Transports.Transport.class)
  void halfCloseTravelsThroughAndTheReplyStillComesBack(Transports.Transport transport)
      throws Exception {
    try (Target t =
            new Target(
                sock -> {
                  try {
                    ByteArrayOutputStream got = new ByteArrayOutputStream();
                    sock.getInputStream().transferTo(got); // until the client's FIN
                    OutputStream o = sock.getOutputStream();
                    o.write(
                        ("got " + got.toString(StandardCharsets.US_ASCII))
                            .getBytes(StandardCharsets.US_ASCII));
                    o.flush();
                  } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                  }
                });
        LatencyProxy p =
            LatencyProxy.builder().target(t.port()).rtt(Duration.ofMillis(10)).start();
        Socket client = new Socket("127.0.0.1", p.port())) {
      client.setSoTimeout(20_000);
      client.getOutputStream().write("hello".getBytes(StandardCharsets.US_ASCII));
      client.shutdownOutput();
      assertThat(new String(client.getInputStream().readAllBytes(), StandardCharsets.US_ASCII))
          .isEqualTo("got hello");
      t.done.join();
    }
  }

  @Test
  void theServerClosingClosesTheClient() throws Exception {
    try (Target t =
            new Target(
                sock -> {
                  try {
                    sock.getOutputStream().write("bye".getBytes(StandardCharsets.US_ASCII));
                  } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                  }
                });
        LatencyProxy p =
            LatencyProxy.builder().target(t.port()).rtt(Duration.ofMillis(10)).start();
        Socket client = new Socket("127.0.0.1", p.port())) {
      client.setSoTimeout(20_000);
      assertThat(new String(client.getInputStream().readAllBytes(), StandardCharsets.US_ASCII))
          .isEqualTo("bye");
      // the server side of the proxy closes too
      assertThat(client.getInputStream().read()).isEqualTo(-1);
    }
  }

  @Test
  void aResetTravelsAsAReset() throws Exception {
    try (Target t =
            new Target(
                sock -> {
                  try {
                    sock.getInputStream().read();
                    sock.setSoLinger(true, 0);
                  } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                  }
                });
        LatencyProxy p =
            LatencyProxy.builder().target(t.port()).rtt(Duration.ofMillis(10)).start();
        Socket client = new Socket("127.0.0.1", p.port())) {
      client.setSoTimeout(20_000);
      client.getOutputStream().write(1);
      InputStream in = client.getInputStream();
      assertThatThrownBy(in::read).isInstanceOf(SocketException.class);
    }
  }

  @Test
  void anUnreachableTargetClosesTheClientConnection() throws IOException {
    int dead;
    try (ServerSocket ss = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      dead = ss.getLocalPort();
    }
    try (LatencyProxy p = LatencyProxy.builder().target(dead).rtt(Duration.ofMillis(10)).start();
        Socket client = new Socket("127.0.0.1", p.port())) {
      client.setSoTimeout(20_000);
      assertThat(client.getInputStream().read()).isEqualTo(-1);
      assertThat(p.connectionsAccepted()).isEqualTo(1);
    }
  }

  @Test
  void aStreamedReplyArrivesWholeThroughTheProxyOverHttp2() {
    try (MockLlmServer s = MockLlmServer.builder().tls(true).start();
        LatencyProxy p =
            LatencyProxy.builder()
                .target(s.port())
                .rtt(Duration.ofMillis(5))
                .jitter(Duration.ofMillis(5))
                .start()) {
      HttpClient c = Clients.client(s, HttpClient.Version.HTTP_2);
      String body =
          "{\"model\":\"m\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
      HttpRequest req =
          Clients.chat(s, body)
              .uri(Clients.uri(p.baseUrl("https") + "/v1/chat/completions"))
              .build();
      assertThat(send(c, req).body()).endsWith("data: [DONE]\n\n");
    }
  }
}
