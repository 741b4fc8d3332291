package dev.llmpool.bench.peers;

import java.net.URI;
import java.nio.ByteBuffer;

/**
 * One client library, opened for one protocol, as the harness drives it. An adapter builds the
 * request anew for every call (as an application does: the body differs per call), sends the {@link
 * Target}'s headers ({@code authorization: Bearer …}, {@code content-type}, and the {@code
 * x-bench-cell} tag nginx logs to count connections per cell), and reads the whole answer.
 *
 * <p>Threading: {@link #post} and {@link #stream} are called from any thread, including the
 * client's own callback threads, and must not block for the exchange: they start it and return.
 * Each call reports to its callback exactly once.
 */
public interface PeerClient extends AutoCloseable {

  /**
   * Sends the chat-completions POST ({@link Target#chatBody()}) to {@code uri} and reads the whole
   * answer into a {@code byte[]}, as an application about to parse the JSON would.
   */
  void post(URI uri, Outcome outcome);

  /**
   * Sends the streaming POST ({@link Target#streamBody()}) to {@code uri} and hands each piece of
   * the body to {@code sink} as it arrives, without buffering the answer.
   */
  void stream(URI uri, StreamSink sink);

  /**
   * Closes the client and its connections; the harness calls it once, after the last call. An
   * adapter reports a failure to close as an unchecked exception.
   */
  @Override
  void close();

  /** Where a {@link #post} reports. */
  interface Outcome {
    /** The exchange ended with a response: its status and how many body bytes were read. */
    void completed(int status, int bodyBytes);

    /** The exchange failed. */
    void failed(Throwable error);
  }

  /** Where a {@link #stream} reports: {@code started}, any {@code content}, then one end. */
  interface StreamSink {
    /** The response head arrived. */
    void started(int status);

    /** A piece of the body; read it before returning (the buffer may be reused). */
    void content(ByteBuffer chunk);

    /** The body ended normally. */
    void completed();

    /** The exchange failed (at any point). */
    void failed(Throwable error);
  }
}
