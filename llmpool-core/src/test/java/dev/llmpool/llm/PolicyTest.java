package dev.llmpool.llm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class PolicyTest {

  @Test
  void retryDefaultsAreTheOfficialSdks() {
    RetryPolicy p = RetryPolicy.DEFAULT;
    assertThat(p.maxRetries()).isEqualTo(2);
    assertThat(p.initialBackoff()).isEqualTo(Duration.ofMillis(500));
    assertThat(p.maxBackoff()).isEqualTo(Duration.ofSeconds(8));
    assertThat(p.jitter()).isEqualTo(0.25);
    assertThat(p.maxRetryDelay()).isEqualTo(Duration.ofSeconds(60));
    assertThat(p.retryMaybeProcessed()).isFalse();
    assertThat(p.toBuilder().build()).isEqualTo(p).hasSameHashCodeAs(p);
    assertThat(RetryPolicy.NONE.maxRetries()).isZero();
  }

  @Test
  void retryValuesAreChecked() {
    assertThatThrownBy(() -> RetryPolicy.builder().maxRetries(-1).build())
        .hasMessageContaining("maxRetries");
    assertThatThrownBy(() -> RetryPolicy.builder().jitter(1.5).build())
        .hasMessageContaining("jitter");
    assertThatThrownBy(() -> RetryPolicy.builder().initialBackoff(Duration.ZERO).build())
        .hasMessageContaining("initialBackoff");
    assertThatThrownBy(() -> RetryPolicy.builder().initialBackoff(Duration.ofSeconds(10)).build())
        .hasMessageContaining("maxBackoff");
  }

  @Test
  void pacingIsOffUnlessAskedFor() {
    assertThat(Pacing.OFF.enabled()).isFalse();
    assertThat(Pacing.ON.enabled()).isTrue();
    assertThat(Pacing.ON.maxWait()).isEqualTo(Duration.ofSeconds(30));
    assertThat(
            Pacing.builder().minRemainingTokens(5).build().toBuilder().build().minRemainingTokens())
        .isEqualTo(5);
    assertThatThrownBy(() -> Pacing.builder().minRemainingRequests(-1).build())
        .hasMessageContaining("minRemainingRequests");
    assertThatThrownBy(() -> Pacing.builder().maxWait(Duration.ZERO).build())
        .hasMessageContaining("maxWait");
  }
}
