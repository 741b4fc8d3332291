package dev.llmpool.http;

import java.io.InputStream;
import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Flow;
import org.jspecify.annotations.Nullable;

/**
 * A response whose body is read as it arrives, with backpressure: the server is slowed down (HTTP/2
 * flow control, or TCP for HTTP/1.1) when the reader falls behind, so a slow reader never makes
 * llmpool buffer without bound. Returned by {@code LlmPool.stream} once the status and headers
 * arrived.
 *
 * <p>Read the body one way: {@link #read(byte[], int, int)}, {@link #readChunk()}, {@link
 * #bodyStream()} or {@link #readAll()} on one thread at a time (blocking; safe on virtual threads),
 * or {@link #publisher()} for asynchronous delivery. Always {@link #close()} it
 * (try-with-resources): closing before the end releases the connection, or closes it when unread
 * bytes remain (HTTP/1.1), or resets the stream (HTTP/2). Closing after the end costs nothing.
 *
 * <p>A failure while the body arrives (connection lost, read or total timeout, a reset) is thrown
 * by the read that meets it, as an {@link dev.llmpool.LlmPoolException} saying the request may have
 * been processed.
 */
public interface StreamingResponse extends AutoCloseable {

  /** The status code. */
  int status();

  /** The response headers. */
  HttpHeaders headers();

  /** The HTTP version the exchange runs over. */
  HttpVersion version();

  /**
   * Reads up to {@code len} bytes into {@code dst}, blocking until at least one is available.
   *
   * @return the number of bytes read, or -1 at the end of the body
   * @throws dev.llmpool.LlmPoolException when the body failed to arrive
   */
  int read(byte[] dst, int off, int len);

  /**
   * The next piece of the body as it arrived from the network (a DATA frame, a chunk, a read), or
   * null at the end. Blocks until a piece is available.
   */
  byte @Nullable [] readChunk();

  /**
   * The next piece of the body, asynchronously: the future completes with it, or with null at the
   * end, or exceptionally with an {@link dev.llmpool.LlmPoolException}. Ask for the next piece only
   * once the previous future completed; each request lets one more piece be taken from the network,
   * which is the backpressure. The future may complete on an llmpool I/O thread.
   *
   * @throws IllegalStateException when a previous request is still pending, or a subscriber
   *     consumes the body
   */
  CompletableFuture<@Nullable ByteBuffer> nextChunkAsync();

  /**
   * The rest of the body, asynchronously, up to {@code maxBytes}; a longer body fails the future
   * with {@link dev.llmpool.ResponseTooLargeException} and closes the response.
   */
  CompletableFuture<byte[]> readAllAsync(long maxBytes);

  /**
   * The rest of the body, up to the pool's {@code maxResponseBodySize}.
   *
   * @throws dev.llmpool.ResponseTooLargeException when the body is larger
   */
  byte[] readAll();

  /**
   * The body as an {@link InputStream} (for line readers and parsers). Its methods throw {@link
   * dev.llmpool.LlmPoolException} (unchecked) on failure; closing it closes this response.
   */
  InputStream bodyStream();

  /**
   * The body as an {@link InputStream} with java.io's failure contract, for code that reads HTTP
   * bodies the way it reads OkHttp's or the JDK client's (the SDK integrations use it): a failed or
   * closed body throws {@link java.io.IOException} whose cause is llmpool's exception. {@code
   * close()} may come from another thread and then ends a blocked read; it reads a short remainder
   * (at most 64 pieces, for at most 100 ms) so that an almost finished exchange keeps its
   * connection, then closes this response.
   */
  default InputStream bodyIoStream() {
    return new dev.llmpool.http.internal.IoBodyStream(this);
  }

  /**
   * The body as a reactive stream, for asynchronous readers (an alternative to {@link
   * #nextChunkAsync()}): one subscriber; each {@code request(n)} lets {@code n} more pieces be
   * delivered. Pieces are delivered on llmpool's I/O threads or the requesting thread: {@code
   * onNext} must not block. Cancelling the subscription closes the response.
   *
   * @throws IllegalStateException when a subscriber or a blocking read already consumes the body
   */
  Flow.Publisher<ByteBuffer> publisher();

  /** True once the whole body was read (or the response was closed). */
  boolean isDone();

  /** Ends the exchange: see the class description. Idempotent. */
  @Override
  void close();
}
