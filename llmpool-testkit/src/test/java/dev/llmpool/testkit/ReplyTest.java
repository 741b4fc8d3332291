package dev.llmpool.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class ReplyTest {

  @Test
  void defaultsAreAPlainEcho() {
    Reply r = Reply.echo();
    assertThat(r.status()).isEqualTo(200);
    assertThat(r.fault()).isEqualTo(Fault.NONE);
    assertThat(r.headersDelay()).isZero();
    assertThat(r.retryAfter()).isNull();
    assertThat(r.textFor("hello")).isEqualTo("Mock reply to: hello");
    assertThat(r.textFor("x".repeat(500))).hasSize("Mock reply to: ".length() + 200);
  }

  @Test
  void aRateLimitWaitsOneSecondUnlessToldOtherwise() {
    assertThat(Reply.error(429).retryAfter()).isEqualTo(Duration.ofSeconds(1));
    assertThat(Reply.error(503).retryAfter()).isNull();
    assertThat(Reply.error(503).toBuilder().retryAfter(Duration.ofSeconds(4)).build().retryAfter())
        .isEqualTo(Duration.ofSeconds(4));
  }

  @Test
  void toBuilderKeepsEveryValue() {
    Reply r =
        Reply.text("t").toBuilder()
            .headersDelay(Duration.ofMillis(5))
            .tokensPerSecond(3)
            .fault(Fault.STALL_AFTER_HEADERS)
            .header("x-a", "b")
            .build();
    Reply copy = r.toBuilder().build();
    assertThat(copy.textFor("p")).isEqualTo("t");
    assertThat(copy.headersDelay()).isEqualTo(Duration.ofMillis(5));
    assertThat(copy.tokensPerSecond()).isEqualTo(3);
    assertThat(copy.fault()).isEqualTo(Fault.STALL_AFTER_HEADERS);
    assertThat(copy.headers()).containsEntry("x-a", "b");
    assertThat(copy.toString()).contains("STALL_AFTER_HEADERS");
  }

  @Test
  void buildRejectsBadValues() {
    assertThatThrownBy(() -> Reply.builder().status(302).build()).hasMessageContaining("302");
    assertThatThrownBy(() -> Reply.builder().status(600).build()).hasMessageContaining("600");
    assertThatThrownBy(() -> Reply.builder().headersDelay(Duration.ofMillis(-1)).build())
        .hasMessageContaining("headersDelay");
    assertThatThrownBy(() -> Reply.builder().tokensPerSecond(Double.NaN).build())
        .hasMessageContaining("tokensPerSecond");
    assertThatThrownBy(() -> Reply.builder().header("bad name", "v").build())
        .hasMessageContaining("bad name");
    assertThatThrownBy(() -> Reply.builder().header("x", "a\r\nb").build())
        .hasMessageContaining("line break");
  }

  @Test
  void headerValuesNameTheFaults() {
    assertThat(Fault.RESET_STREAM_MID_BODY.headerValue()).isEqualTo("reset-stream-mid-body");
    for (Fault f : Fault.values()) {
      assertThat(Reply.parseHeader(f.headerValue(), Reply.echo()).fault()).isEqualTo(f);
    }
  }

  @Test
  void headerParsesStatusAndParameters() {
    Reply r =
        Reply.parseHeader(
            " 429 ; retry-after=2s; latency=150ms ;tokens-per-second=12.5", Reply.echo());
    assertThat(r.status()).isEqualTo(429);
    assertThat(r.retryAfter()).isEqualTo(Duration.ofSeconds(2));
    assertThat(r.headersDelay()).isEqualTo(Duration.ofMillis(150));
    assertThat(r.tokensPerSecond()).isEqualTo(12.5);
    Reply base = Reply.text("base");
    assertThat(Reply.parseHeader("none", base).textFor("x")).isEqualTo("base");
  }

  @Test
  void badHeadersSayWhatIsWrong() {
    assertThatThrownBy(() -> Reply.parseHeader("boom", Reply.echo())).hasMessageContaining("boom");
    assertThatThrownBy(() -> Reply.parseHeader("302", Reply.echo())).hasMessageContaining("302");
    assertThatThrownBy(() -> Reply.parseHeader("500; wat=1", Reply.echo()))
        .hasMessageContaining("wat");
    assertThatThrownBy(() -> Reply.parseHeader("500; latency", Reply.echo()))
        .hasMessageContaining("'='");
    assertThatThrownBy(() -> Reply.parseHeader("500; latency=fast", Reply.echo()))
        .hasMessageContaining("fast");
    assertThatThrownBy(() -> Reply.parseHeader("none; tokens-per-second=x", Reply.echo()))
        .hasMessageContaining("'x'");
  }
}
