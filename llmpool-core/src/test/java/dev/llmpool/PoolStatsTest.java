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
                + " utilization=2%, opened=5, closed=2 (idle-expired=2), reused=40, timeouts=0,"
                + " rejected=0, peak active/pending/open=3/1/4, origins=1}");
    assertThat(a.toString()).startsWith("PoolStats{https://api.openai.com:443, connections=3/10");
    assertThat(total.forOrigin(A)).isSameAs(a);
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
