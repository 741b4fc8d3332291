package dev.llmpool.llm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class SseDecoderTest {

  @Test
  void eventsCutAnywhereArriveWholeWithTheirTypes() {
    List<String> seen = new ArrayList<>();
    SseDecoder sse = new SseDecoder((type, data) -> seen.add(type + "=" + data));
    byte[] all =
        "event: delta\r\ndata: {\"a\":\ndata: 1}\r\n\r\n: keep-alive\n\ndata: [DONE]\n\n"
            .getBytes(StandardCharsets.UTF_8);
    for (int i = 0; i < all.length; i++) {
      sse.feed(all, i, 1); // one byte at a time: every cut point
    }
    assertThat(seen).containsExactly("delta={\"a\":\n1}", "message=[DONE]");
    assertThat(sse.finish()).isFalse();
  }

  @Test
  void aStreamCutInsideAnEventDiscardsItAndSaysSo() {
    List<String> seen = new ArrayList<>();
    SseDecoder sse = new SseDecoder((type, data) -> seen.add(data));
    sse.feed(ByteBuffer.wrap("data: whole\n\ndata: half".getBytes(StandardCharsets.UTF_8)));
    assertThat(sse.finish()).isTrue();
    assertThat(seen).containsExactly("whole");
  }

  @Test
  void anEventOverTheBoundFailsInsteadOfGrowing() {
    SseDecoder sse = new SseDecoder((type, data) -> {}, 64, null);
    byte[] big = ("data: " + "x".repeat(100) + "\n\n").getBytes(StandardCharsets.UTF_8);
    assertThatThrownBy(() -> sse.feed(big, 0, big.length))
        .isInstanceOf(SseLimitExceededException.class);
  }

  @Test
  void retryFieldsReachTheListener() {
    long[] retry = {-1};
    SseDecoder sse =
        new SseDecoder(
            new SseDecoder.Listener() {
              @Override
              public void onEvent(String type, String data) {}

              @Override
              public void onRetry(long millis) {
                retry[0] = millis;
              }
            });
    byte[] b = "retry: 1500\n\n".getBytes(StandardCharsets.UTF_8);
    sse.feed(b, 0, b.length);
    assertThat(retry[0]).isEqualTo(1500);
  }
}
