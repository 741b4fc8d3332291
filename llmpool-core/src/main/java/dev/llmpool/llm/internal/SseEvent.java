package dev.llmpool.llm.internal;

import java.nio.charset.StandardCharsets;
import org.jspecify.annotations.Nullable;

/**
 * One dispatched server-sent event, as {@link SseParser} hands it to its handler. A flyweight: the
 * parser reuses one instance and its buffers, so an event is valid only during the handler's call;
 * copy what must outlive it. Not thread-safe.
 */
public final class SseEvent {
  private static final byte[] DONE = "[DONE]".getBytes(StandardCharsets.US_ASCII);

  String type = "message";
  byte[] data = new byte[0];
  int length;
  @Nullable String lastEventId;
  private @Nullable String decoded;

  SseEvent() {}

  void reset(String type, byte[] data, int length, @Nullable String lastEventId) {
    this.type = type;
    this.data = data;
    this.length = length;
    this.lastEventId = lastEventId;
    this.decoded = null;
  }

  /** The event type: the last {@code event:} field, or {@code "message"} when there was none. */
  public String type() {
    return type;
  }

  /** The buffer holding the data's UTF-8 bytes, from index 0 to {@link #dataLength()}. */
  public byte[] dataBytes() {
    return data;
  }

  /** How many bytes of {@link #dataBytes()} are data. */
  public int dataLength() {
    return length;
  }

  /**
   * The data as text: the {@code data:} lines joined with LF, decoded as UTF-8 (malformed bytes
   * become U+FFFD, as the EventSource rules say). Decoded once per event, on first use.
   */
  public String data() {
    String s = decoded;
    if (s == null) {
      s = new String(data, 0, length, StandardCharsets.UTF_8);
      decoded = s;
    }
    return s;
  }

  /** The last event id seen in the stream so far (ids persist across events), or null. */
  public @Nullable String lastEventId() {
    return lastEventId;
  }

  /** True when the data is exactly {@code [DONE]}, the OpenAI end-of-stream marker. */
  public boolean isDone() {
    if (length != DONE.length) {
      return false;
    }
    for (int i = 0; i < DONE.length; i++) {
      if (data[i] != DONE[i]) {
        return false;
      }
    }
    return true;
  }

  @Override
  public String toString() {
    return "SseEvent{type=" + type + ", data=" + length + " bytes, id=" + lastEventId + "}";
  }
}
