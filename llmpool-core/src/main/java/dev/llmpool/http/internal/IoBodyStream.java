package dev.llmpool.http.internal;

import dev.llmpool.LlmPoolException;
import dev.llmpool.http.StreamingResponse;
import dev.llmpool.time.Ticker;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.jspecify.annotations.Nullable;

/**
 * A streamed response body as java.io readers (the OpenAI and Anthropic SDKs, LangChain4j) read an
 * HTTP client's body: bytes as they arrive, and the {@link IOException} such a body throws (with
 * llmpool's exception as its cause) when the body fails or the response was closed, so that they
 * handle it as they handle OkHttp's or the JDK's. Behind {@link StreamingResponse#bodyIoStream()}.
 *
 * <p>Threading: read by one thread at a time (the SDK's reader); {@link #close()} may come from
 * another thread, and then ends a blocked read.
 */
public final class IoBodyStream extends InputStream {
  /** Pieces at most drained on close, so that a finished exchange keeps its connection. */
  private static final int MAX_DRAIN_PIECES = 64;

  /** How long a close waits for the rest of a body before abandoning it. */
  private static final long DRAIN_BUDGET_NANOS = TimeUnit.MILLISECONDS.toNanos(100);

  private final StreamingResponse response;
  private volatile boolean closed;

  /** Reads {@code response}'s body; closing this closes the response. */
  public IoBodyStream(StreamingResponse response) {
    this.response = response;
  }

  @Override
  public int read() throws IOException {
    byte[] one = new byte[1];
    int n = read(one, 0, 1);
    return n < 0 ? -1 : one[0] & 0xff;
  }

  @Override
  public int read(byte[] b, int off, int len) throws IOException {
    if (closed) {
      throw new IOException("the response body was closed");
    }
    try {
      return response.read(b, off, len);
    } catch (LlmPoolException e) {
      throw new IOException(e.getMessage(), e);
    } catch (IllegalStateException e) {
      // The response was closed under a blocked read (another thread closed it).
      if (closed || response.isDone()) {
        throw new IOException("the response body was closed", e);
      }
      throw e;
    }
  }

  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    drain(response);
    response.close();
  }

  /**
   * Reads and drops the rest of the body for a short while, so that a body the reader left just
   * short of its end ends normally and its HTTP/1.1 connection goes straight back to the pool: the
   * SDK stops reading at a JSON document's last brace or at {@code [DONE]}, before the chunked
   * terminator has been taken from the network. Whatever has not ended within {@link
   * #DRAIN_BUDGET_NANOS} (as OkHttp's 100 ms discard) is abandoned by the close that follows (the
   * HTTP/1.1 connection is closed, the HTTP/2 stream reset). On an llmpool I/O thread it only takes
   * what has already arrived, never waiting for the thread it runs on.
   */
  static void drain(StreamingResponse response) {
    boolean mayWait = !Thread.currentThread().getName().startsWith("llmpool-io-");
    Ticker ticker = Ticker.system();
    long deadline = ticker.nanoTime() + DRAIN_BUDGET_NANOS;
    try {
      for (int i = 0; i < MAX_DRAIN_PIECES && !response.isDone(); i++) {
        CompletableFuture<@Nullable ByteBuffer> next = response.nextChunkAsync();
        ByteBuffer piece;
        if (next.isDone() || !mayWait) {
          piece = next.getNow(null);
        } else {
          long left = deadline - ticker.nanoTime();
          if (left <= 0) {
            return;
          }
          piece = next.get(left, TimeUnit.NANOSECONDS);
        }
        if (piece == null) {
          return;
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (ExecutionException | TimeoutException | RuntimeException e) {
      // Failed, closed, or still in flight: the close that follows releases what is left.
    }
  }
}
