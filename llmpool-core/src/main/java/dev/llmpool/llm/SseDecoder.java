package dev.llmpool.llm;

import dev.llmpool.Origin;
import dev.llmpool.llm.internal.SseParser;
import java.nio.ByteBuffer;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * llmpool's {@code text/event-stream} decoder, for code that reads a streamed body itself (the
 * LangChain4j integration, a custom client): feed it the body's pieces as they arrive, cut
 * anywhere, and it calls the listener once per complete event, by the WHATWG EventSource rules
 * (CRLF, LF or CR line ends; a leading BOM skipped; comments ignored; {@code data:} lines joined
 * with LF; an event dispatched at an empty line; an unterminated last event discarded).
 *
 * <pre>{@code
 * SseDecoder sse = new SseDecoder((type, data) -> System.out.println(type + ": " + data));
 * try (StreamingResponse r = pool.stream(request)) {
 *   for (byte[] piece; (piece = r.readChunk()) != null; ) {
 *     sse.feed(piece, 0, piece.length);
 *   }
 * }
 * boolean cutMidEvent = sse.finish();
 * }</pre>
 *
 * <p>A line, or an event's data, longer than {@code maxEventBytes} (default 4 MiB) fails with
 * {@link SseLimitExceededException} instead of growing without bound. Not thread-safe: one decoder
 * per stream, fed by one thread at a time; events are delivered on the feeding thread.
 */
public final class SseDecoder {
  /** The default bound on a line and on an event's data: 4 MiB. */
  public static final int DEFAULT_MAX_EVENT_BYTES = SseParser.DEFAULT_MAX_EVENT_BYTES;

  /** Receives the decoded events. */
  @FunctionalInterface
  public interface Listener {
    /**
     * One complete event.
     *
     * @param type the {@code event:} field, or {@code "message"} when the event had none
     * @param data the {@code data:} lines joined with LF
     */
    void onEvent(String type, String data);

    /** A {@code retry:} field gave a reconnection time in milliseconds. Ignored by default. */
    default void onRetry(long millis) {}
  }

  private final SseParser parser;

  /** A decoder with the default bound on event size. */
  public SseDecoder(Listener listener) {
    this(listener, DEFAULT_MAX_EVENT_BYTES, null);
  }

  /**
   * @param listener receives events, on the feeding thread
   * @param maxEventBytes the bound on a line and on an event's data (at least 16)
   * @param origin named in the limit exception, if known
   */
  public SseDecoder(Listener listener, int maxEventBytes, @Nullable Origin origin) {
    Objects.requireNonNull(listener, "listener");
    this.parser =
        new SseParser(
            new SseParser.Handler() {
              @Override
              public void onEvent(dev.llmpool.llm.internal.SseEvent event) {
                listener.onEvent(event.type(), event.data());
              }

              @Override
              public void onRetry(long millis) {
                listener.onRetry(millis);
              }
            },
            maxEventBytes,
            origin);
  }

  /**
   * Feeds {@code length} bytes from {@code offset}; the events they complete are delivered before
   * this returns.
   *
   * @throws SseLimitExceededException when a line or an event's data exceeds the bound
   */
  public void feed(byte[] bytes, int offset, int length) {
    parser.feed(bytes, offset, length);
  }

  /** Feeds the buffer's remaining bytes and moves its position to its limit. */
  public void feed(ByteBuffer chunk) {
    parser.feed(chunk);
  }

  /**
   * Ends the stream; an event no empty line closed is discarded, as the rules say.
   *
   * @return true when such an incomplete event was pending (the stream was cut inside an event)
   */
  public boolean finish() {
    return parser.finish();
  }
}
