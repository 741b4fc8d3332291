package dev.llmpool.transport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.llmpool.ConnectionLostException;
import dev.llmpool.EventListener;
import dev.llmpool.LlmPool;
import dev.llmpool.LlmPoolException;
import dev.llmpool.http.HttpRequest;
import dev.llmpool.http.internal.HttpEngine;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * The re-send rule for connections that die before the request left (docs/http.md, "Safe retry"):
 * once, not {@link HttpEngine#MAX_SAFE_RETRIES} times, which is for streams a server refuses.
 */
class SafeResendTest {

  @Test
  void aConnectionThatDiesBeforeTheRequestLeftIsResentOnceOnly() throws Exception {
    AtomicInteger retries = new AtomicInteger();
    // Every connection: read the request head, then reset while the body is still coming.
    try (ScriptedServer server =
            new ScriptedServer(
                p -> {
                  p.readHead();
                  p.reset();
                });
        LlmPool pool =
            LlmPool.builder()
                .baseUrl("http://127.0.0.1:" + server.port())
                .http2(false)
                .eventListener(
                    new EventListener() {
                      @Override
                      public void retry(CallInfo call, String reason, Duration delay, int attempt) {
                        retries.incrementAndGet();
                      }
                    })
                .build()) {
      byte[] big = new byte[32 * 1024 * 1024]; // far more than the socket buffers hold
      assertThatThrownBy(
              () ->
                  pool.send(
                      HttpRequest.post("/upload").body(big, "application/octet-stream").build()))
          .isInstanceOf(ConnectionLostException.class)
          .hasMessageContaining("before the request was fully sent")
          .satisfies(
              e -> assertThat(((LlmPoolException) e).requestMayHaveBeenProcessed()).isFalse());
      assertThat(retries.get()).as("re-sends").isEqualTo(HttpEngine.MAX_DEAD_CONNECTION_RESENDS);
      assertThat(server.accepted()).isEqualTo(1 + HttpEngine.MAX_DEAD_CONNECTION_RESENDS);
      assertThat(pool.stats().active()).isZero();
    }
  }
}
