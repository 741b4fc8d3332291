package dev.llmpool.http;

import static dev.llmpool.http.Calls.chat;
import static dev.llmpool.http.Calls.newId;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.llmpool.LlmPool;
import dev.llmpool.LlmPoolException;
import dev.llmpool.Phase;
import dev.llmpool.TlsException;
import dev.llmpool.testkit.MockLlmServer;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.pkitesting.CertificateBuilder;
import io.netty.pkitesting.X509Bundle;
import java.net.InetSocketAddress;
import java.security.KeyStore;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** TLS: certificates are checked, host names verified, ALPN picks the protocol; no trust-all. */
class TlsTest {
  private MockLlmServer server;
  private LlmPool pool;

  @BeforeEach
  void setUp() {
    server = MockLlmServer.builder().tls(true).build().start();
  }

  @AfterEach
  void tearDown() {
    if (pool != null) {
      assertThat(pool.stats().active()).isZero();
      pool.close();
    }
    server.close();
  }

  private LlmPool.Builder base() {
    return LlmPool.builder().baseUrl(server.baseUrl() + "/v1").bearerToken("sk-test").ioThreads(1);
  }

  @Test
  void anUntrustedCertificateFailsTheHandshakeAndNothingIsSent() {
    pool = base().build();
    assertThatThrownBy(() -> pool.send(chat(newId()).build()))
        .isInstanceOf(TlsException.class)
        .hasMessageContaining("phase=tls")
        .hasMessageContaining("origin=" + server.baseUrl())
        .satisfies(e -> assertThat(((LlmPoolException) e).requestMayHaveBeenProcessed()).isFalse());
    assertThat(server.requestCount()).isZero();
  }

  @ParameterizedTest
  @ValueSource(strings = {"pem", "trustManager", "sslContext"})
  void aCertificateTrustedByTheUserIsAccepted(String how) {
    LlmPool.Builder b = base();
    switch (how) {
      case "pem" -> b.trustedCertificates(server.certificate().pemFile());
      case "trustManager" -> b.trustManager(server.certificate().trustManager());
      default -> b.sslContext(server.certificate().sslContext());
    }
    pool = b.build();
    HttpResponse r = pool.send(chat(newId()).build());
    assertThat(r.status()).isEqualTo(200);
    assertThat(r.version()).isEqualTo(how.equals("sslContext") ? r.version() : HttpVersion.HTTP_2);
  }

  @Test
  void alpnPicksHttp2ByDefaultAndHttp11WhenHttp2IsOffOrForcedForTheHost() {
    UnaryOperator<LlmPool.Builder> trust =
        b -> b.trustedCertificates(server.certificate().pemFile());
    pool = trust.apply(base()).build();
    assertThat(pool.send(chat(newId()).build()).version()).isEqualTo(HttpVersion.HTTP_2);
    pool.close();
    pool = trust.apply(base()).http2(false).build();
    assertThat(pool.send(chat(newId()).build()).version()).isEqualTo(HttpVersion.HTTP_1_1);
    pool.close();
    pool = trust.apply(base()).forceHttp1("127.0.0.1").build();
    assertThat(pool.send(chat(newId()).build()).version()).isEqualTo(HttpVersion.HTTP_1_1);
  }

  @Test
  void giveAtMostOneSourceOfTrust() {
    assertThatThrownBy(
            () ->
                base()
                    .trustedCertificates(server.certificate().pemFile())
                    .trustManager(server.certificate().trustManager())
                    .build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("at most one");
  }

  @Test
  void aCertificateForAnotherHostIsRefusedEvenWhenItsIssuerIsTrusted() throws Exception {
    X509Bundle other =
        new CertificateBuilder()
            .subject("CN=other.example")
            .addSanDnsName("other.example")
            .setIsCertificateAuthority(true)
            .ecp256()
            .buildSelfSigned();
    SslContext serverSsl =
        SslContextBuilder.forServer(other.getKeyPair().getPrivate(), other.getCertificate())
            .build();
    EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    try {
      Channel ch =
          new ServerBootstrap()
              .group(group)
              .channel(NioServerSocketChannel.class)
              .childHandler(
                  new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel c) {
                      c.pipeline().addLast(serverSsl.newHandler(c.alloc()));
                    }
                  })
              .bind(new InetSocketAddress("127.0.0.1", 0))
              .sync()
              .channel();
      int port = ((InetSocketAddress) ch.localAddress()).getPort();
      KeyStore ks = KeyStore.getInstance("PKCS12");
      ks.load(null, null);
      ks.setCertificateEntry("other", other.getCertificate());
      TrustManagerFactory tmf =
          TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      tmf.init(ks);
      X509TrustManager tm = (X509TrustManager) tmf.getTrustManagers()[0];
      try (LlmPool p =
          LlmPool.builder().baseUrl("https://127.0.0.1:" + port).trustManager(tm).build()) {
        assertThatThrownBy(() -> p.send(HttpRequest.get("/").build()))
            .isInstanceOf(TlsException.class)
            .satisfies(e -> assertThat(((LlmPoolException) e).phase()).isEqualTo(Phase.TLS));
      }
      ch.close().sync();
    } finally {
      group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
    }
  }

  @Test
  void aHandshakeTheServerCutsSaysTheServerClosedTheConnection() throws Exception {
    // Finding 11 (docs/interop.md): a TLS port that hangs up at once (an overloaded proxy, a port
    // that is not TLS) must not read like an internal error or a certificate problem.
    try (java.net.ServerSocket listener =
        new java.net.ServerSocket(0, 4, java.net.InetAddress.getLoopbackAddress())) {
      Thread t =
          new Thread(
              () -> {
                try (java.net.Socket s = listener.accept()) {
                  s.shutdownOutput(); // FIN at once, before any TLS byte
                  s.getInputStream().transferTo(java.io.OutputStream.nullOutputStream());
                } catch (java.io.IOException e) {
                  // the client went away: the scenario is over
                }
              });
      t.setDaemon(true);
      t.start();
      try (LlmPool p =
          LlmPool.builder()
              .baseUrl("https://127.0.0.1:" + listener.getLocalPort() + "/v1")
              .ioThreads(1)
              .build()) {
        assertThatThrownBy(() -> p.send(HttpRequest.get("/models").build()))
            .isInstanceOf(TlsException.class)
            .hasMessageContaining("the server closed the connection during the TLS handshake")
            .hasMessageNotContaining("Exception")
            .satisfies(
                e -> assertThat(((LlmPoolException) e).requestMayHaveBeenProcessed()).isFalse());
      }
      t.join(TimeUnit.SECONDS.toMillis(20));
    }
  }
}
