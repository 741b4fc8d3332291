package dev.llmpool.llm.internal;

import dev.llmpool.Origin;
import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;
import org.jspecify.annotations.Nullable;

/**
 * A response whose headers have arrived; its body is read either whole ({@link #body(int)}) or in
 * chunks ({@link #nextChunk()}), not both. Must be closed; closing before the end of the body
 * releases the connection (HTTP/1.1: closed, since unread bytes remain; HTTP/2: the stream is
 * reset).
 *
 * <p>Failures of the body futures are {@link dev.llmpool.LlmPoolException}s (read timeout,
 * connection lost, protocol error), never wrapped.
 */
public interface LlmHttpResponse extends AutoCloseable {

  /** The server that answered. */
  Origin origin();

  /** The HTTP status. */
  int status();

  /**
   * The value of the header {@code lowerCaseName} (joined with {@code ", "} when it occurs more
   * than once), or null when absent.
   */
  @Nullable String header(String lowerCaseName);

  /**
   * The whole body, at most {@code maxBytes} long (a longer body fails with a {@link
   * dev.llmpool.HttpProtocolException}); the response is released once it is read. Call once.
   */
  CompletableFuture<byte[]> body(int maxBytes);

  /**
   * The next chunk of the body, or null at its end. Call again only once the previous future has
   * completed; a chunk is the caller's until it asks for the next one. Pulling is the backpressure:
   * no more is read from the network than the caller asks for (beyond the transport's window).
   */
  CompletableFuture<@Nullable ByteBuffer> nextChunk();

  /** Releases the response; safe from any thread and more than once. */
  @Override
  void close();
}
