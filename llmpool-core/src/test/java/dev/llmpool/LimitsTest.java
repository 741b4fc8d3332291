package dev.llmpool;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class LimitsTest {

  @Test
  void defaultsFitLlmApis() {
    Limits l = Limits.DEFAULTS;
    assertThat(l.maxConnections()).isEqualTo(100);
    assertThat(l.maxConnectionsPerHost()).isEqualTo(100);
    assertThat(l.maxIdleConnections()).isEqualTo(100);
    // Below the ~60 s idle timeout of the load balancers in front of LLM APIs.
    assertThat(l.keepAliveExpiry()).isEqualTo(Duration.ofSeconds(50));
    assertThat(l.maxConnectionLifetime()).isEqualTo(Duration.ofMinutes(10));
    assertThat(l.maxPendingAcquires()).isEqualTo(1000);
  }

  @Test
  void perHostAndIdleLimitsFollowMaxConnectionsUntilSet() {
    Limits l = Limits.builder().maxConnections(20).build();
    assertThat(l.maxConnectionsPerHost()).isEqualTo(20);
    assertThat(l.maxIdleConnections()).isEqualTo(20);
    Limits smaller = l.toBuilder().maxConnections(5).build(); // still follows
    assertThat(smaller.maxConnectionsPerHost()).isEqualTo(5);
    Limits set = Limits.builder().maxConnections(20).maxConnectionsPerHost(8).build();
    assertThat(set.toBuilder().maxConnections(30).build().maxConnectionsPerHost()).isEqualTo(8);
  }

  @Test
  void badValuesAreRefusedNamingTheFieldAndTheValue() {
    assertThatThrownBy(() -> Limits.builder().maxConnections(0).build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("limits.maxConnections must be at least 1, got 0");
    assertThatThrownBy(() -> Limits.builder().maxConnections(-3).build())
        .hasMessage("limits.maxConnections must be at least 1, got -3");
    assertThatThrownBy(() -> Limits.builder().maxConnectionsPerHost(0).build())
        .hasMessage("limits.maxConnectionsPerHost must be at least 1, got 0");
    assertThatThrownBy(() -> Limits.builder().maxConnectionsPerHost(-1))
        .hasMessage("limits.maxConnectionsPerHost must not be negative, got -1");
    assertThatThrownBy(() -> Limits.builder().maxConnections(10).maxConnectionsPerHost(11).build())
        .hasMessage("limits.maxConnectionsPerHost (11) must not exceed maxConnections (10)");
    assertThatThrownBy(() -> Limits.builder().maxConnections(10).maxIdleConnections(11).build())
        .hasMessage("limits.maxIdleConnections (11) must not exceed maxConnections (10)");
    assertThatThrownBy(() -> Limits.builder().maxIdleConnections(-2).build())
        .hasMessage("limits.maxIdleConnections must not be negative, got -2");
    assertThatThrownBy(() -> Limits.builder().keepAliveExpiry(Duration.ZERO).build())
        .hasMessage("limits.keepAliveExpiry must be positive, got PT0S");
    assertThatThrownBy(() -> Limits.builder().maxConnectionLifetime(Duration.ofSeconds(-1)).build())
        .hasMessage("limits.maxConnectionLifetime must be positive, got PT-1S");
    assertThatThrownBy(() -> Limits.builder().maxPendingAcquires(-1).build())
        .hasMessage("limits.maxPendingAcquires must not be negative, got -1");
  }

  @Test
  void zeroIdleAndZeroPendingMeanSomethingAndAreAccepted() {
    Limits l = Limits.builder().maxIdleConnections(0).maxPendingAcquires(0).build();
    assertThat(l.maxIdleConnections()).isZero();
    assertThat(l.maxPendingAcquires()).isZero();
  }

  @Test
  void toBuilderKeepsValuesAndEqualityFollowsThem() {
    Limits l =
        Limits.builder()
            .maxConnections(7)
            .maxConnectionsPerHost(3)
            .keepAliveExpiry(Duration.ofSeconds(9))
            .build();
    assertThat(l.toBuilder().build()).isEqualTo(l).hasSameHashCodeAs(l);
    assertThat(l.toBuilder().maxPendingAcquires(1).build()).isNotEqualTo(l);
    assertThat(l.toString())
        .isEqualTo(
            "Limits{maxConnections=7, maxConnectionsPerHost=3, maxIdleConnections=7,"
                + " keepAliveExpiry=PT9S, maxConnectionLifetime=PT10M, maxPendingAcquires=1000}");
  }

  @Test
  void aHugeDurationMeansPracticallyForever() {
    Limits l = Limits.builder().maxConnectionLifetime(Duration.ofDays(365L * 1000)).build();
    assertThat(l.maxConnectionLifetime()).isEqualTo(Duration.ofDays(365L * 1000));
  }
}
