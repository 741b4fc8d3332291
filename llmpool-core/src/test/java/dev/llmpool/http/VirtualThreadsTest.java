package dev.llmpool.http;

import static dev.llmpool.http.Calls.chat;
import static dev.llmpool.http.Calls.newId;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.llmpool.LlmPool;
import dev.llmpool.testkit.MockLlmServer;
import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * Blocking calls from many virtual threads (JDK 21+; skipped on older JDKs). Nothing in llmpool
 * waits inside a monitor, so the callers park and their carriers are free: 200 callers on a couple
 * of carriers all finish.
 */
class VirtualThreadsTest {

  @Test
  void manyVirtualThreadsCallAtOnce() throws Exception {
    Method ofVirtual;
    try {
      ofVirtual = Thread.class.getMethod("ofVirtual");
    } catch (NoSuchMethodException e) {
      ofVirtual = null;
    }
    assumeTrue(ofVirtual != null, "virtual threads need JDK 21+");
    Object builder = ofVirtual.invoke(null);
    Method start = Class.forName("java.lang.Thread$Builder").getMethod("start", Runnable.class);
    try (MockLlmServer server = Proto.H2C.server().build().start();
        LlmPool pool = Proto.H2C.pool(server).build()) {
      AtomicInteger ok = new AtomicInteger();
      List<Thread> threads = new ArrayList<>();
      for (int i = 0; i < 200; i++) {
        threads.add(
            (Thread)
                start.invoke(
                    builder,
                    (Runnable)
                        () -> {
                          HttpResponse r =
                              pool.send(
                                  chat(newId())
                                      .header("x-mock-fault", "none;latency=100ms")
                                      .build());
                          if (r.status() == 200) {
                            ok.incrementAndGet();
                          }
                        }));
      }
      for (Thread t : threads) {
        t.join(30_000);
      }
      assertThat(ok.get()).isEqualTo(200);
      Calls.assertCleanAndAtMostOnce(pool, server);
    }
  }
}
