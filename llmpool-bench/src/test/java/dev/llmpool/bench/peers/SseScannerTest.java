package dev.llmpool.bench.peers;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.util.Random;
import org.junit.jupiter.api.Test;

class SseScannerTest {
  private static final byte[] ANSWER = Payloads.streamAnswer();

  @Test
  void countsEveryTokenAndTheEndWhateverTheChunking() {
    long seed = 20261124L;
    Random random = new Random(seed);
    for (int run = 0; run < 200; run++) {
      SseScanner sse = new SseScanner();
      int total = 0;
      for (int at = 0; at < ANSWER.length; ) {
        int len = Math.min(ANSWER.length - at, 1 + random.nextInt(run % 2 == 0 ? 7 : 5000));
        total += sse.feed(ByteBuffer.wrap(ANSWER, at, len));
        at += len;
      }
      assertThat(total).as("seed %d run %d", seed, run).isEqualTo(Payloads.STREAM_TOKENS);
      assertThat(sse.tokens()).isEqualTo(Payloads.STREAM_TOKENS);
      assertThat(sse.done()).as("seed %d run %d", seed, run).isTrue();
    }
  }

  @Test
  void leavesTheBufferPositionAlone() {
    ByteBuffer chunk = ByteBuffer.wrap(ANSWER, 0, 300);
    new SseScanner().feed(chunk);
    assertThat(chunk.position()).isZero();
  }

  @Test
  void aStreamCutShortIsNotDone() {
    SseScanner sse = new SseScanner();
    sse.feed(ByteBuffer.wrap(ANSWER, 0, ANSWER.length - "data: [DONE]\n\n".length()));
    assertThat(sse.tokens()).isEqualTo(Payloads.STREAM_TOKENS);
    assertThat(sse.done()).isFalse();
  }

  @Test
  void ignoresCommentsAndOtherFields() {
    SseScanner sse = new SseScanner();
    byte[] text =
        ": keep-alive\nevent: x\nid: 1\ndata: {\"a\":1}\n\nmetadata: no\ndata:[DONE]\n\n"
            .getBytes(java.nio.charset.StandardCharsets.UTF_8);
    assertThat(sse.feed(ByteBuffer.wrap(text))).isEqualTo(1);
    assertThat(sse.done()).isTrue();
  }
}
