package dev.llmpool.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.llmpool.ConnectionLostException;
import dev.llmpool.LlmPool;
import dev.llmpool.LlmPoolException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A response's announced Content-Length is the server's word, not bytes in hand: the body buffer
 * grows with the bytes that arrive (finding 1 in docs/interop.md).
 */
class ResponseBodyMemoryTest {

  /** A one-connection HTTP/1.1 server: reads a request head, writes {@code head}, then body. */
  private static Thread serveOnce(ServerSocket listener, String head, byte[] body) {
    Thread t =
        new Thread(
            () -> {
              try (Socket s = listener.accept()) {
                InputStream in = s.getInputStream();
                ByteArrayOutputStream seen = new ByteArrayOutputStream();
                while (!seen.toString(StandardCharsets.ISO_8859_1).endsWith("\r\n\r\n")) {
                  int b = in.read();
                  if (b < 0) {
                    return;
                  }
                  seen.write(b);
                }
                OutputStream out = s.getOutputStream();
                out.write(head.getBytes(StandardCharsets.ISO_8859_1));
                // In pieces, so that the client's buffer has to grow several times.
                for (int off = 0; off < body.length; off += 10_000) {
                  out.write(body, off, Math.min(10_000, body.length - off));
                  out.flush();
                }
              } catch (IOException e) {
                // the client went away: the scenario is over
              }
            });
    t.setDaemon(true);
    t.start();
    return t;
  }

  /**
   * Bytes allocated so far by every thread of the JVM (HotSpot's ThreadMXBean), read reflectively:
   * the test sources compile inside the core's module, which does not read jdk.management.
   */
  private static long allocatedBytes() throws ReflectiveOperationException {
    Object bean =
        Class.forName("java.lang.management.ManagementFactory")
            .getMethod("getThreadMXBean")
            .invoke(null);
    return (Long)
        Class.forName("com.sun.management.ThreadMXBean")
            .getMethod("getTotalThreadAllocatedBytes")
            .invoke(bean);
  }

  @Test
  void anAnnouncedContentLengthReservesNoMemoryBeforeTheBytesArrive() throws Exception {
    try (ServerSocket listener = new ServerSocket(0, 4, InetAddress.getLoopbackAddress());
        LlmPool pool =
            LlmPool.builder()
                .baseUrl("http://127.0.0.1:" + listener.getLocalPort())
                .http2(false)
                .ioThreads(1)
                .build()) {
      // Warm up the pool's machinery (threads, classes) so that it does not count below.
      Thread warm =
          serveOnce(
              listener,
              "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n",
              new byte[2]);
      assertThat(pool.send(HttpRequest.get("/warm").build()).status()).isEqualTo(200);
      warm.join(TimeUnit.SECONDS.toMillis(20));

      // 60 MB announced (under the 64 MiB maxResponseBodySize), 10 bytes sent, then a close.
      Thread t =
          serveOnce(listener, "HTTP/1.1 200 OK\r\nContent-Length: 60000000\r\n\r\n", new byte[10]);
      long before = allocatedBytes();
      assertThatThrownBy(() -> pool.send(HttpRequest.get("/announce").build()))
          .isInstanceOf(ConnectionLostException.class)
          .hasMessageContaining("got 10 of 60000000 bytes")
          .satisfies(
              e -> assertThat(((LlmPoolException) e).requestMayHaveBeenProcessed()).isTrue());
      long allocated = allocatedBytes() - before;
      t.join(TimeUnit.SECONDS.toMillis(20));
      assertThat(allocated)
          .as("bytes allocated by every thread while the call waited for its body")
          .isLessThan(16L * 1024 * 1024);
    }
  }

  @Test
  void aBodyLargerThanTheFirstBufferArrivesWhole() throws Exception {
    byte[] body = new byte[300_001];
    for (int i = 0; i < body.length; i++) {
      body[i] = (byte) (i * 31);
    }
    try (ServerSocket listener = new ServerSocket(0, 4, InetAddress.getLoopbackAddress());
        LlmPool pool =
            LlmPool.builder()
                .baseUrl("http://127.0.0.1:" + listener.getLocalPort())
                .http2(false)
                .ioThreads(1)
                .build()) {
      Thread t =
          serveOnce(
              listener, "HTTP/1.1 200 OK\r\nContent-Length: " + body.length + "\r\n\r\n", body);
      HttpResponse r = pool.send(HttpRequest.get("/big").build());
      assertThat(Arrays.equals(r.body(), body)).as("body intact").isTrue();
      t.join(TimeUnit.SECONDS.toMillis(20));
    }
  }
}
