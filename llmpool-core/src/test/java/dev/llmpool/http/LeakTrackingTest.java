package dev.llmpool.http;

import static dev.llmpool.http.Calls.chatStream;
import static dev.llmpool.http.Calls.newId;
import static org.assertj.core.api.Assertions.assertThat;

import dev.llmpool.LlmPool;
import dev.llmpool.PoolStats;
import dev.llmpool.testkit.Fault;
import dev.llmpool.testkit.MockLlmServer;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A streamed response the caller drops without closing it holds its connection (HTTP/1.1) or stream
 * (HTTP/2) only until it is garbage-collected: the pool then reclaims it and logs one warning, with
 * the stack of the acquisition when leak tracking is on.
 */
class LeakTrackingTest {

  @ParameterizedTest
  @EnumSource(Proto.class)
  void aStreamingResponseDroppedUnclosedIsReclaimedAndLoggedOnce(Proto p) throws Exception {
    ByteArrayOutputStream log = new ByteArrayOutputStream();
    PrintStream stderr = System.err;
    // slf4j-simple (the tests' binding) writes to whatever System.err is at each call.
    System.setErr(new PrintStream(new Tee(stderr, log), true, StandardCharsets.UTF_8));
    try (MockLlmServer server = p.server().build().start();
        LlmPool pool = p.pool(server).leakTracking(true).build()) {
      dropAnUnclosedStreamingResponse(pool);
      assertThat(pool.stats().active()).isEqualTo(1);
      // Nothing but the collection of the dropped response frees it (its server stalls, and the
      // call's own limits are minutes away).
      Waits.until(
          () -> {
            System.gc();
            return pool.stats().active() == 0 && pool.stats().inFlightExchanges() == 0;
          });
      Waits.until(() -> leakWarnings(log) >= 1);
      PoolStats stats = pool.stats();
      if (p.http2) {
        // Its stream was reset; the connection carries on with other calls.
        assertThat(stats.closed(PoolStats.CloseReason.LEAKED)).isZero();
        assertThat(stats.open()).isEqualTo(1);
      } else {
        // Unread bytes may remain: the connection is closed.
        assertThat(stats.closed(PoolStats.CloseReason.LEAKED)).isEqualTo(1);
      }
      assertThat(pool.send(Calls.chat(newId()).build()).status()).isEqualTo(200);
      String text = log.toString(StandardCharsets.UTF_8);
      assertThat(leakWarnings(log)).as(text).isEqualTo(1);
      // Leak tracking on: the warning shows where the leaked response was acquired.
      assertThat(text).contains("acquired here").contains("dropAnUnclosedStreamingResponse");
    } finally {
      System.setErr(stderr);
    }
  }

  /** Opens a streamed call and forgets it: nothing refers to the response once this returns. */
  private static void dropAnUnclosedStreamingResponse(LlmPool pool) {
    StreamingResponse r =
        pool.stream(
            chatStream(newId())
                .header("x-mock-fault", Fault.STALL_AFTER_HEADERS.headerValue())
                .build());
    assertThat(r.status()).isEqualTo(200);
  }

  private static int leakWarnings(ByteArrayOutputStream log) {
    String text;
    synchronized (log) {
      text = log.toString(StandardCharsets.UTF_8);
    }
    int n = 0;
    for (int i = text.indexOf("was leaked"); i >= 0; i = text.indexOf("was leaked", i + 1)) {
      n++;
    }
    return n;
  }

  /** Writes to two streams. */
  private static final class Tee extends java.io.OutputStream {
    private final PrintStream a;
    private final ByteArrayOutputStream b;

    Tee(PrintStream a, ByteArrayOutputStream b) {
      this.a = a;
      this.b = b;
    }

    @Override
    public void write(int c) {
      a.write(c);
      synchronized (b) {
        b.write(c);
      }
    }

    @Override
    public void write(byte[] buf, int off, int len) {
      a.write(buf, off, len);
      synchronized (b) {
        b.write(buf, off, len);
      }
    }
  }
}
