package dev.llmpool.transport;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llmpool.Origin;
import dev.llmpool.testkit.MockLlmServer;
import io.netty.channel.ChannelOption;
import io.netty.channel.epoll.Epoll;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Both I/O transports and both TLS providers carry exchanges; sockets get their options. */
class TransportChoicesTest {
  @Test
  void ioThreadsDefaultToHalfTheProcessorsBetweenOneAndFour() {
    assertThat(TransportSettings.Builder.defaultIoThreads(1)).isEqualTo(1);
    assertThat(TransportSettings.Builder.defaultIoThreads(2)).isEqualTo(1);
    assertThat(TransportSettings.Builder.defaultIoThreads(3)).isEqualTo(1);
    assertThat(TransportSettings.Builder.defaultIoThreads(4)).isEqualTo(2);
    assertThat(TransportSettings.Builder.defaultIoThreads(8)).isEqualTo(4);
    assertThat(TransportSettings.Builder.defaultIoThreads(64)).isEqualTo(4);
  }

  private static void exchangeOver(TransportSettings settings, MockLlmServer server)
      throws Exception {
    NettyTransport t = new NettyTransport(settings);
    try {
      Origin origin = new Origin(server.tls() ? "https" : "http", "127.0.0.1", server.port());
      NettyConnection c =
          (NettyConnection)
              t.open(origin, new RecordingConnectionListener(), null).get(20, TimeUnit.SECONDS);
      assertThat(c.channel.config().getOption(ChannelOption.TCP_NODELAY)).isTrue();
      assertThat(c.channel.config().getOption(ChannelOption.SO_KEEPALIVE)).isTrue();
      TestExchange ex =
          new TestExchange(
              "POST",
              "/v1/chat/completions",
              "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"
                  .getBytes(StandardCharsets.UTF_8),
              Long.MAX_VALUE / 2);
      ex.header("authorization", "Bearer sk-test");
      c.start(ex);
      TestExchange.Result r = ex.end.get(20, TimeUnit.SECONDS);
      assertThat(r.failure()).isNull();
      assertThat(ex.head.get()).isEqualTo(200);
      c.close();
    } finally {
      t.close();
      t.terminated().get(10, TimeUnit.SECONDS);
    }
  }

  @Test
  void nioCarriesExchangesWhereEpollIsNotWanted() throws Exception {
    try (MockLlmServer server = MockLlmServer.builder().build().start()) {
      TransportSettings s =
          TransportSettings.builder()
              .preferNativeTransport(false)
              .h2cPriorKnowledge("127.0.0.1")
              .ioThreads(1)
              .build();
      assertThat(new NettyTransport(s).ioTransportName()).isEqualTo("nio");
      exchangeOver(s, server);
    }
  }

  @Test
  void epollIsUsedWhenItLoads() throws Exception {
    TransportSettings s = TransportSettings.builder().ioThreads(1).build();
    NettyTransport t = new NettyTransport(s);
    try {
      assertThat(t.ioTransportName()).isEqualTo(Epoll.isAvailable() ? "epoll" : "nio");
    } finally {
      t.close();
    }
  }

  @Test
  void theJdksTlsCarriesExchangesWhenOpenSslIsNotWanted() throws Exception {
    try (MockLlmServer server = MockLlmServer.builder().tls(true).build().start()) {
      TransportSettings s =
          TransportSettings.builder()
              .preferOpenSsl(false)
              .trustManager(server.certificate().trustManager())
              .ioThreads(1)
              .build();
      assertThat(new TlsContexts(s).providerName()).isEqualTo("JDK");
      exchangeOver(s, server);
    }
  }
}
