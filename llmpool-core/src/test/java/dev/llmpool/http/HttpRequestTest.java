package dev.llmpool.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class HttpRequestTest {

  @Test
  void aRequestKeepsWhatItWasGivenAndCopiesTheBody() {
    byte[] body = "{\"a\":1}".getBytes(StandardCharsets.UTF_8);
    HttpRequest r =
        HttpRequest.post("/chat/completions")
            .header("X-Trace", "t1")
            .body(body, "application/json")
            .timeout(Duration.ofSeconds(5))
            .build();
    body[0] = 'X';
    assertThat(r.method()).isEqualTo("POST");
    assertThat(r.target()).isEqualTo("/chat/completions");
    assertThat(r.headers().get("x-trace")).isEqualTo("t1");
    assertThat(r.headers().name(0)).isEqualTo("x-trace");
    assertThat(new String(r.body(), StandardCharsets.UTF_8)).isEqualTo("{\"a\":1}");
    assertThat(r.contentType()).isEqualTo("application/json");
    assertThat(r.toBuilder().build().headers()).isEqualTo(r.headers());
  }

  @Test
  void aBodyGivenWithoutCopyIsTheCallersArrayAsItIsWhenSent() {
    byte[] body = "{\"a\":1}".getBytes(StandardCharsets.UTF_8);
    HttpRequest r = HttpRequest.post("/v1/x").bodyWithoutCopy(body, "application/json").build();
    assertThat(r.bodyLength()).isEqualTo(body.length);
    assertThat(r.contentType()).isEqualTo("application/json");
    body[0] = 'X'; // the contract says not to; this shows why: no copy was taken
    assertThat(new String(r.body(), StandardCharsets.UTF_8)).isEqualTo("X\"a\":1}");
    assertThatThrownBy(() -> HttpRequest.post("/").bodyWithoutCopy(body, "a\nb"))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void headersLlmpoolManagesAreRefused() {
    for (String name : new String[] {"Host", "Content-Length", "Transfer-Encoding", "Connection"}) {
      assertThatThrownBy(() -> HttpRequest.get("/").header(name, "x"))
          .hasMessageContaining("managed by llmpool");
    }
  }

  @Test
  void headerInjectionIsRefusedWithoutEchoingTheValue() {
    assertThatThrownBy(() -> HttpRequest.get("/").header("x-a", "ok\r\nInjected: secret"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("x-a")
        .hasMessageNotContaining("secret");
    assertThatThrownBy(() -> HttpRequest.get("/").header("bad name", "v"))
        .hasMessageContaining("illegal character");
  }

  @Test
  void targetsAreCheckedAndToStringShowsNoQuery() {
    assertThatThrownBy(() -> HttpRequest.get("/a b")).hasMessageContaining("illegal character");
    assertThatThrownBy(() -> HttpRequest.get("https://u:p@host/x"))
        .hasMessageContaining("credentials");
    assertThatThrownBy(() -> HttpRequest.get("ftp://host/x")).hasMessageContaining("http(s)");
    assertThat(HttpRequest.get("/models?key=sk-1").build().toString()).isEqualTo("GET /models");
    assertThat(HttpRequest.get("https://h.example/v1/models?key=sk-1").build().toString())
        .isEqualTo("GET /v1/models");
  }

  @Test
  void headersLookUpWithoutCaseAndMaskCredentialsWhenPrinted() {
    HttpHeaders h =
        HttpHeaders.of(
            "Authorization", "Bearer sk-1", "X-Api-Key", "k", "Accept", "a", "accept", "b");
    assertThat(h.get("authorization")).isEqualTo("Bearer sk-1");
    assertThat(h.values("ACCEPT")).containsExactly("a", "b");
    assertThat(h.toString()).doesNotContain("sk-1").doesNotContain("k,").contains("accept: a");
    assertThat(h.toMap()).containsKeys("authorization", "x-api-key", "accept");
    assertThat(h.toBuilder().remove("accept").build().size()).isEqualTo(2);
  }

  @Test
  void nonAsciiInAnAbsoluteUrlIsSentPercentEncodedAsUtf8() {
    // Finding 9 (docs/interop.md): java.net.URI accepts raw non-ASCII; the wire must not see it.
    HttpRequest r = HttpRequest.get("http://h.example/caf\u00e9/x?q=caf\u00e9&r=%41").build();
    assertThat(r.target()).isEqualTo("http://h.example/caf%C3%A9/x?q=caf%C3%A9&r=%41");
    assertThat(HttpRequest.get("http://h.example/plain?a=%20").build().target())
        .isEqualTo("http://h.example/plain?a=%20");
    assertThatThrownBy(() -> HttpRequest.get("/caf\u00e9")).hasMessageContaining("percent-encode");
  }

  @Test
  void controlCharactersInHeaderValuesAreRefusedButTabsAndObsTextAreNot() {
    // Finding 10: RFC 9110 §5.5 allows VCHAR, SP, HTAB and obs-text in a field value.
    for (char c : new char[] {0x01, 0x08, 0x0b, 0x0c, 0x1b, 0x1f, 0x7f, 0, '\r', '\n'}) {
      assertThatThrownBy(() -> HttpRequest.get("/").header("x-a", "a" + c + "secret"))
          .as("character 0x%02x", (int) c)
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("index 1")
          .hasMessageNotContaining("secret");
    }
    HttpRequest ok = HttpRequest.get("/").header("x-a", "a\tb c~\u00e9\u00ff").build();
    assertThat(ok.headers().get("x-a")).isEqualTo("a\tb c~\u00e9\u00ff");
  }
}
