package dev.llmpool.transport;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llmpool.DnsException;
import dev.llmpool.EventListener;
import dev.llmpool.Origin;
import dev.llmpool.time.ManualTicker;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The DNS cache (TTL, sharing, failures) and the connect loop over every address. */
class DnsTest {

  /** A resolver answering from a script, counting queries. */
  private static final class FakeResolver implements HostResolver {
    final AtomicInteger queries = new AtomicInteger();
    volatile List<InetAddress> answer;
    volatile long ttl;
    volatile CompletableFuture<Resolved> pending;

    FakeResolver(List<InetAddress> answer, long ttl) {
      this.answer = answer;
      this.ttl = ttl;
    }

    @Override
    public CompletableFuture<Resolved> resolve(String host) {
      queries.incrementAndGet();
      CompletableFuture<Resolved> p = pending;
      if (p != null) {
        return p;
      }
      if (answer.isEmpty()) {
        return CompletableFuture.failedFuture(new UnknownHostException(host + ": NXDOMAIN"));
      }
      return CompletableFuture.completedFuture(new Resolved(answer, ttl));
    }
  }

  private static InetAddress ip(String s) throws UnknownHostException {
    return InetAddress.getByName(s);
  }

  @Test
  void anAnswerLivesForItsRecordTtlCappedAtFiveMinutes() throws Exception {
    ManualTicker ticker = new ManualTicker();
    FakeResolver r = new FakeResolver(List.of(ip("10.0.0.1")), 3600);
    DnsCache cache = new DnsCache(r, ticker, null, TransportSettings.DEFAULT_MAX_DNS_TTL);
    assertThat(cache.lookup("api.example").get().cached()).isFalse();
    ticker.advance(Duration.ofMinutes(4));
    assertThat(cache.lookup("api.example").get().cached()).isTrue();
    ticker.advance(Duration.ofMinutes(1));
    assertThat(cache.lookup("api.example").get().cached()).as("capped at 5 min").isFalse();
    assertThat(r.queries.get()).isEqualTo(2);

    r.ttl = 30;
    ticker.advance(Duration.ofMinutes(6));
    cache.lookup("api.example").get();
    ticker.advance(Duration.ofSeconds(31));
    assertThat(cache.lookup("api.example").get().cached()).as("the record's own TTL").isFalse();
  }

  @Test
  void aFixedTtlReplacesTheRecordsAndNewAddressesAreUsedAfterIt() throws Exception {
    ManualTicker ticker = new ManualTicker();
    FakeResolver r = new FakeResolver(List.of(ip("10.0.0.1")), 5);
    DnsCache cache =
        new DnsCache(r, ticker, Duration.ofMinutes(1), TransportSettings.DEFAULT_MAX_DNS_TTL);
    assertThat(cache.lookup("h").get().addresses()).containsExactly(ip("10.0.0.1"));
    r.answer = List.of(ip("10.0.0.2"));
    ticker.advance(Duration.ofSeconds(59));
    assertThat(cache.lookup("h").get().addresses()).containsExactly(ip("10.0.0.1"));
    ticker.advance(Duration.ofSeconds(1));
    assertThat(cache.lookup("h").get().addresses()).containsExactly(ip("10.0.0.2"));
  }

  @Test
  void concurrentLookupsShareOneQueryAndFailuresAreNotCached() throws Exception {
    ManualTicker ticker = new ManualTicker();
    FakeResolver r = new FakeResolver(List.of(), 60);
    DnsCache cache = new DnsCache(r, ticker, null, TransportSettings.DEFAULT_MAX_DNS_TTL);
    CompletableFuture<HostResolver.Resolved> slow = new CompletableFuture<>();
    r.pending = slow;
    var a = cache.lookup("h");
    var b = cache.lookup("h");
    slow.complete(new HostResolver.Resolved(List.of(ip("10.0.0.3")), 60));
    assertThat(a.get().addresses()).isEqualTo(b.get().addresses());
    assertThat(r.queries.get()).isEqualTo(1);

    r.pending = null;
    assertThat(cache.lookup("gone").isCompletedExceptionally()).isTrue();
    assertThat(cache.lookup("gone").isCompletedExceptionally()).isTrue();
    assertThat(r.queries.get()).as("a failure is asked again").isEqualTo(3);
  }

  @Test
  void everyAddressIsTriedInTurnAndTheEventsSaySo() throws Exception {
    int closedPort;
    try (ServerSocket s = new ServerSocket(0)) {
      closedPort = s.getLocalPort();
    }
    try (ScriptedServer server =
        new ScriptedServer(
            p -> {
              p.readRequest();
              p.respond("ok");
            })) {
      // 127.0.0.2 refuses (nothing listens on it), 127.0.0.1 answers: same port for both.
      FakeResolver r = new FakeResolver(List.of(ip("127.0.0.2"), ip("127.0.0.1")), 60);
      List<String> events = new CopyOnWriteArrayList<>();
      EventListener recorder =
          new EventListener() {
            @Override
            public void dnsEnd(
                CallInfo call, String host, List<InetAddress> addresses, boolean cached) {
              events.add("dnsEnd " + host + " " + addresses.size() + " cached=" + cached);
            }

            @Override
            public void connectFailed(
                CallInfo call, java.net.InetSocketAddress address, dev.llmpool.LlmPoolException e) {
              events.add("connectFailed " + address.getAddress().getHostAddress());
            }

            @Override
            public void connectEnd(CallInfo call, java.net.InetSocketAddress address) {
              events.add("connectEnd " + address.getAddress().getHostAddress());
            }
          };
      NettyTransport t =
          new NettyTransport(
              TransportSettings.builder().resolver(r).listener(recorder).ioThreads(1).build());
      try {
        var conn =
            t.open(
                    new Origin("http", "api.example", server.port()),
                    new RecordingConnectionListener(),
                    null)
                .get(20, TimeUnit.SECONDS);
        assertThat(((NettyConnection) conn).remoteAddress().getAddress().getHostAddress())
            .isEqualTo("127.0.0.1");
        assertThat(events)
            .containsExactly(
                "dnsEnd api.example 2 cached=false",
                "connectFailed 127.0.0.2",
                "connectEnd 127.0.0.1");
        conn.close();

        // A failed lookup is a DnsException naming the host; nothing was sent.
        r.answer = List.of();
        var f =
            t.open(
                new Origin("http", "nowhere.example", closedPort),
                new RecordingConnectionListener(),
                null);
        assertThat(f)
            .failsWithin(Duration.ofSeconds(20))
            .withThrowableThat()
            .havingCause()
            .isInstanceOf(DnsException.class)
            .withMessageContaining("nowhere.example")
            .withMessageContaining("phase=dns");
      } finally {
        t.close();
      }
    }
  }
}
