package dev.llmpool;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class OriginTest {

  @Test
  void defaultPortsFillIn() {
    assertThat(Origin.of("https://API.OpenAI.com/v1"))
        .isEqualTo(new Origin("https", "api.openai.com", 443));
    assertThat(Origin.of("http://localhost/x")).isEqualTo(new Origin("http", "localhost", 80));
  }

  @Test
  void userInfoNeverReachesTheOriginOrItsText() {
    Origin o = Origin.of("https://user:s3cret@example.com:8443/v1?key=abc");
    assertThat(o.toString()).isEqualTo("https://example.com:8443").doesNotContain("s3cret");
  }

  @Test
  void ipv6HostsKeepTheirBracketsOnlyInUrls() {
    Origin o = Origin.of("http://[::1]:8080/");
    assertThat(o.host()).isEqualTo("::1");
    assertThat(o.toString()).isEqualTo("http://[::1]:8080");
  }

  @Test
  void badUrlsAreRefusedWithAClearMessage() {
    assertThatThrownBy(() -> Origin.of("ftp://example.com/"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("http or https");
    assertThatThrownBy(() -> Origin.of("/relative/path"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("absolute");
    assertThatThrownBy(() -> new Origin("https", "h", 70000)).hasMessageContaining("1..65535");
  }

  @Test
  void exceptionMessagesNameThePhaseAndOrigin() {
    var e =
        new ConnectFailedException(
            Origin.of("https://h.example"), "connection refused", false, null);
    assertThat(e.getMessage())
        .isEqualTo("connection refused [phase=connect, origin=https://h.example:443]");
    assertThat(e.phase()).isEqualTo(Phase.CONNECT);
  }
}
