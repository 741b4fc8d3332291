package dev.llmpool.llm;

import dev.llmpool.HttpProtocolException;
import dev.llmpool.Origin;
import org.jspecify.annotations.Nullable;

/**
 * A server-sent-event stream had a line, or an event, longer than the configured bound (phase
 * {@link dev.llmpool.Phase#PROTOCOL}): the stream is abandoned rather than buffered without end.
 * Real LLM streams send events of a few hundred bytes; this means a broken or hostile server, or a
 * bound set too low for very large tool-call arguments.
 */
public class SseLimitExceededException extends HttpProtocolException {
  private static final long serialVersionUID = 1L;

  private final int limitBytes;

  /**
   * @param origin the server, if known
   * @param limitBytes the bound that was exceeded
   */
  public SseLimitExceededException(@Nullable Origin origin, int limitBytes) {
    super(
        origin,
        "server-sent event line or event longer than the limit of "
            + limitBytes
            + " bytes (maxEventBytes)",
        true,
        null);
    this.limitBytes = limitBytes;
  }

  /** The bound, in bytes, that the stream exceeded. */
  public int limitBytes() {
    return limitBytes;
  }
}
