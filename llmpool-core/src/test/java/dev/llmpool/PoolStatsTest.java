package dev.llmpool;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.llmpool.PoolStats.CloseReason;
import org.junit.jupiter.api.Test;

class PoolStatsTest {
  static final Origin A = Origin.of("https://api.openai.com");

  @Test
  void toStringIsOneReadableLine() {
    PoolStats a =
        PoolStats.builder(A, 10)
            .connections(0, 1, 2, 0)
            .load(2, 0)
            .counters(5, 40, 0, 0, 0)
            .closed(CloseReason.IDLE_EXPIRED, 2)
            .peaks(3, 1, 4)
            .build();
    PoolStats total =
        PoolStats.builder(null, 100)
            .connections(0, 1, 2, 0)
            .load(2, 0)
            .counters(5, 40, 0, 0, 0)
            .closed(CloseReason.IDLE_EXPIRED, 2)
            .peaks(3, 1, 4)
            .origin(a)
            .build();
    assertThat(total.toString())
        .isEqualTo(
            "PoolStats{connections=3/100 (connecting=0, idle=1, active=2), inFlight=2, pending=0,"
                + " utilization=2%, opened=5, closed=2 (idle-expired=2), reused=40,"
                + " poolTimeouts=0, rejected=0, peak(active=3, pending=1, open=4,"
                + " utilization=3%), origins=[https://api.openai.com:443]}");
    assertThat(a.toString()).startsWith("PoolStats{https://api.openai.com:443, connections=3/10");
    assertThat(total.forOrigin(A)).isSameAs(a);
  }

  @Test
  void toStringNamesTheProtocolTransportTlsAndWarnings() {
    PoolStats a =
        PoolStats.builder(A, 10)
            .connections(0, 0, 10, 0)
            .load(10, 4)
            .protocol("HTTP/1.1")
            .utilizationHealth(1.0, 2)
            .build();
    PoolStats total =
        PoolStats.builder(null, 10)
            .connections(0, 0, 10, 0)
            .load(10, 4)
            .counters(10, 0, 7, 1, 2)
            .peaks(10, 4, 10)
            .utilizationHealth(1.0, 2)
            .transport("epoll", "OpenSSL (BoringSSL)")
            .origin(a)
            .build();
    assertThat(total.toString())
        .isEqualTo(
            "PoolStats{connections=10/10 (connecting=0, idle=0, active=10), inFlight=10,"
                + " pending=4, utilization=100%, opened=10, closed=0, reused=0, poolTimeouts=7,"
                + " rejected=1, connectFailures=2, peak(active=10, pending=4, open=10,"
                + " utilization=100%), utilizationWarnings=2,"
                + " origins=[https://api.openai.com:443 HTTP/1.1], io=epoll, tls=OpenSSL"
                + " (BoringSSL)}");
    assertThat(a.toString()).startsWith("PoolStats{https://api.openai.com:443 HTTP/1.1, ");
    assertThat(total.ioTransport()).isEqualTo("epoll");
    assertThat(total.tlsProvider()).isEqualTo("OpenSSL (BoringSSL)");
    assertThat(total.forOrigin(A).protocol()).isEqualTo("HTTP/1.1");
  }

  @Test
  void aSmallButNonZeroUtilizationIsNotShownAsZero() {
    PoolStats s = PoolStats.builder(null, 1000).connections(0, 0, 1, 0).load(1, 0).build();
    assertThat(s.toString()).contains("utilization=<1%");
  }

  @Test
  void manyOriginsAreCountedNotListed() {
    PoolStats.Builder total = PoolStats.builder(null, 100);
    for (int i = 1; i <= 6; i++) {
      total.origin(PoolStats.builder(Origin.of("https://h" + i + ".example"), 100).build());
    }
    assertThat(total.build().toString())
        .contains(
            "origins=[https://h1.example:443, https://h2.example:443, https://h3.example:443,"
                + " https://h4.example:443, +2 more]");
  }

  @Test
  void toBuilderKeepsEveryValue() {
    PoolStats a = PoolStats.builder(A, 10).connections(1, 2, 3, 1).protocol("HTTP/2").build();
    PoolStats s =
        PoolStats.builder(null, 100)
            .connections(1, 2, 3, 1)
            .load(4, 5)
            .counters(6, 7, 8, 9, 10)
            .closed(CloseReason.GOAWAY, 11)
            .peaks(12, 13, 14)
            .transport("nio", "JDK")
            .utilizationHealth(0.5, 1)
            .origin(a)
            .build();
    assertThat(s.toBuilder().build().toString()).isEqualTo(s.toString());
    assertThat(s.toBuilder().build().forOrigin(A)).isSameAs(a);
  }

  @Test
  void peakUtilizationIsNeverBelowPeakActiveOverTheLimit() {
    PoolStats s = PoolStats.builder(null, 10).peaks(10, 0, 10).build();
    assertThat(s.peakUtilization()).isEqualTo(1.0);
    assertThat(
            PoolStats.builder(null, 10)
                .peaks(2, 0, 2)
                .utilizationHealth(0.5, 0)
                .build()
                .peakUtilization())
        .isEqualTo(0.5);
  }

  @Test
  void utilizationIsActiveOverTheLimitAndOneWhenCallsWaitAtTheLimit() {
    PoolStats half = PoolStats.builder(null, 4).connections(0, 0, 2, 0).build();
    assertThat(half.utilization()).isEqualTo(0.5);
    PoolStats saturated = PoolStats.builder(null, 4).connections(1, 0, 3, 0).load(3, 5).build();
    assertThat(saturated.utilization()).isEqualTo(1.0);
    PoolStats waitingButRoom =
        PoolStats.builder(null, 4).connections(1, 0, 1, 0).load(1, 1).build();
    assertThat(waitingButRoom.utilization()).isEqualTo(0.25);
  }

  @Test
  void closeReasonLabelsAreTheMetricNames() {
    assertThat(CloseReason.IDLE_EXPIRED.label()).isEqualTo("idle-expired");
    assertThat(CloseReason.EVICTED_LRU.label()).isEqualTo("evicted-lru");
    assertThat(CloseReason.SERVER_CLOSED.label()).isEqualTo("server-closed");
    assertThat(CloseReason.POOL_CLOSED.label()).isEqualTo("pool-closed");
  }

  @Test
  void inconsistentCountsAreRefused() {
    assertThatThrownBy(() -> PoolStats.builder(null, 1).connections(0, 0, 1, 2))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> PoolStats.builder(null, 0))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
