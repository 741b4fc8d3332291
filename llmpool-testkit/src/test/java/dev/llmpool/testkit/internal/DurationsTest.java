package dev.llmpool.testkit.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class DurationsTest {

  @Test
  void parsesDigitsAndOneUnit() {
    assertThat(Durations.parse("200ms")).isEqualTo(Duration.ofMillis(200));
    assertThat(Durations.parse("5s")).isEqualTo(Duration.ofSeconds(5));
    assertThat(Durations.parse("1m")).isEqualTo(Duration.ofMinutes(1));
    assertThat(Durations.parse("2h")).isEqualTo(Duration.ofHours(2));
    assertThat(Durations.parse("0s")).isEqualTo(Duration.ZERO);
  }

  @Test
  void rejectsAnythingElseNamingTheValue() {
    for (String bad : new String[] {"", "5", "s", "1.5s", "-1s", "5 s", "5sec", "1m30s", "5S"}) {
      assertThatThrownBy(() -> Durations.parse(bad))
          .as(bad)
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("'" + bad + "'");
    }
  }

  @Test
  void formatsLikeOpenAiResetHeaders() {
    assertThat(Durations.goFormat(Duration.ofMillis(12))).isEqualTo("12ms");
    assertThat(Durations.goFormat(Duration.ofSeconds(1))).isEqualTo("1s");
    assertThat(Durations.goFormat(Duration.ofMillis(8640))).isEqualTo("8.64s");
    assertThat(Durations.goFormat(Duration.ofMinutes(6))).isEqualTo("6m0s");
    assertThat(Durations.goFormat(Duration.ofMillis(179_560))).isEqualTo("2m59.56s");
    assertThat(Durations.goFormat(Duration.ofHours(1))).isEqualTo("1h0m0s");
    assertThat(Durations.goFormat(Duration.ZERO)).isEqualTo("0s");
  }
}
