package dev.llmpool;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class TimeoutsTest {

  @Test
  void defaultsFitLlmApis() {
    Timeouts t = Timeouts.DEFAULTS;
    assertThat(t.read()).isGreaterThanOrEqualTo(Duration.ofSeconds(60));
    assertThat(t.total()).isEqualTo(Duration.ofMinutes(10));
  }

  @Test
  void aNonPositiveLimitIsRefusedNamingTheField() {
    assertThatThrownBy(() -> Timeouts.builder().read(Duration.ZERO).build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("timeouts.read must be positive, got PT0S");
    assertThatThrownBy(() -> Timeouts.builder().pool(Duration.ofSeconds(-1)).build())
        .hasMessageContaining("timeouts.pool");
  }

  @Test
  void toBuilderKeepsValues() {
    Timeouts t = Timeouts.builder().connect(Duration.ofSeconds(3)).build();
    assertThat(t.toBuilder().build()).isEqualTo(t);
    assertThat(t.toBuilder().read(Duration.ofSeconds(9)).build().connect())
        .isEqualTo(Duration.ofSeconds(3));
  }
}
