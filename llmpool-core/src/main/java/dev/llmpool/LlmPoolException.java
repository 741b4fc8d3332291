package dev.llmpool;

import org.jspecify.annotations.Nullable;

/**
 * The root of every exception llmpool throws: it says in which {@link Phase} the call failed, for
 * which {@link Origin}, and whether the server may have processed the request.
 *
 * <p>The message has the form {@code "<what happened> [phase=<phase>, origin=<origin>]"}. Messages
 * never contain header values, API keys or request bodies: only the origin, never the full URL (its
 * query might hold a key).
 */
public class LlmPoolException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final Phase phase;
  private final @Nullable Origin origin;
  private final boolean requestMayHaveBeenProcessed;

  /**
   * @param phase where the call failed
   * @param origin the server it was talking to, if known
   * @param detail what happened, without secrets
   * @param requestMayHaveBeenProcessed true when the request may have reached the server and been
   *     acted on, so re-sending it could run it twice
   * @param cause the underlying error, if any
   */
  public LlmPoolException(
      Phase phase,
      @Nullable Origin origin,
      String detail,
      boolean requestMayHaveBeenProcessed,
      @Nullable Throwable cause) {
    super(format(phase, origin, detail, requestMayHaveBeenProcessed), cause);
    this.phase = phase;
    this.origin = origin;
    this.requestMayHaveBeenProcessed = requestMayHaveBeenProcessed;
  }

  /** Where the call failed. */
  public Phase phase() {
    return phase;
  }

  /** The server the call was talking to, or null when the failure came before one was chosen. */
  public @Nullable Origin origin() {
    return origin;
  }

  /**
   * True when the request may have been processed by the server (it was fully sent, or partly
   * answered): llmpool did not re-send it, since an LLM call costs money and must run at most once.
   * False when the server provably did not see it, so re-sending it is safe.
   */
  public boolean requestMayHaveBeenProcessed() {
    return requestMayHaveBeenProcessed;
  }

  private static String format(
      Phase phase, @Nullable Origin origin, String detail, boolean mayHaveBeenProcessed) {
    StringBuilder sb = new StringBuilder(detail.length() + 64);
    sb.append(detail).append(" [phase=").append(phase.label());
    if (origin != null) {
      sb.append(", origin=").append(origin);
    }
    if (mayHaveBeenProcessed) {
      sb.append(", the server may have processed the request; it was not re-sent");
    }
    return sb.append(']').toString();
  }
}
