package dev.llmpool.http.internal;

import dev.llmpool.http.HttpHeaders;
import dev.llmpool.http.HttpVersion;
import dev.llmpool.http.StreamingResponse;
import java.io.InputStream;
import java.lang.ref.Reference;
import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Flow;
import org.jspecify.annotations.Nullable;

/**
 * The {@link StreamingResponse} the caller holds: a thin handle on the body ({@link StreamBody}),
 * which the transport and the call hold. Nothing inside llmpool refers to the handle (except while
 * an asynchronous consumer is registered, see {@link StreamBody#pin}), so when the caller drops it
 * without closing it, it becomes unreachable and the pool, which tracks it as the lease's owner,
 * reclaims the connection or stream ({@link StreamBody#abandonLeaked}).
 *
 * <p>Each blocking method keeps the handle reachable until it returns ({@link
 * Reference#reachabilityFence}): a thread blocked in a read is using the response, and must not see
 * it reclaimed under it.
 *
 * <p>Thread-safety: that of {@link StreamBody}.
 */
final class StreamHandle implements StreamingResponse {
  private final StreamBody body;

  StreamHandle(StreamBody body) {
    this.body = body;
  }

  @Override
  public int status() {
    return body.status();
  }

  @Override
  public HttpHeaders headers() {
    return body.headers();
  }

  @Override
  public HttpVersion version() {
    return body.version();
  }

  @Override
  public int read(byte[] dst, int off, int len) {
    try {
      return body.read(dst, off, len);
    } finally {
      Reference.reachabilityFence(this);
    }
  }

  @Override
  public byte @Nullable [] readChunk() {
    try {
      return body.readChunk();
    } finally {
      Reference.reachabilityFence(this);
    }
  }

  @Override
  public CompletableFuture<@Nullable ByteBuffer> nextChunkAsync() {
    return body.nextChunkAsync(this);
  }

  @Override
  public CompletableFuture<byte[]> readAllAsync(long maxBytes) {
    return body.readAllAsync(maxBytes, this);
  }

  @Override
  public byte[] readAll() {
    try {
      return body.readAll();
    } finally {
      Reference.reachabilityFence(this);
    }
  }

  @Override
  public InputStream bodyStream() {
    InputStream in = body.bodyStream();
    // The stream keeps the handle reachable: a caller may hold only the stream.
    return new InputStream() {
      @Override
      public int read() throws java.io.IOException {
        try {
          return in.read();
        } finally {
          Reference.reachabilityFence(StreamHandle.this);
        }
      }

      @Override
      public int read(byte[] b, int off, int len) throws java.io.IOException {
        try {
          return in.read(b, off, len);
        } finally {
          Reference.reachabilityFence(StreamHandle.this);
        }
      }

      @Override
      public int available() throws java.io.IOException {
        return in.available();
      }

      @Override
      public void close() {
        StreamHandle.this.close();
      }
    };
  }

  @Override
  public Flow.Publisher<ByteBuffer> publisher() {
    Flow.Publisher<ByteBuffer> p = body.publisher(this);
    return p;
  }

  @Override
  public boolean isDone() {
    return body.isDone();
  }

  @Override
  public void close() {
    body.close();
  }

  @Override
  public String toString() {
    return body.toString();
  }
}
