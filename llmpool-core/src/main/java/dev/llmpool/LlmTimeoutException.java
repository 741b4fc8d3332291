package dev.llmpool;

import java.time.Duration;
import org.jspecify.annotations.Nullable;

/**
 * A limit of {@code Timeouts} ran out. The subclass names the phase; {@link #limit()} is the limit
 * that bound. Catch this type to handle every timeout alike.
 */
public abstract class LlmTimeoutException extends LlmPoolException {
  private static final long serialVersionUID = 1L;

  private final Duration limit;

  /** Creates the exception; {@code detail} must hold no secret. */
  protected LlmTimeoutException(
      Phase phase,
      @Nullable Origin origin,
      String detail,
      Duration limit,
      boolean requestMayHaveBeenProcessed,
      @Nullable Throwable cause) {
    super(phase, origin, detail, requestMayHaveBeenProcessed, cause);
    this.limit = limit;
  }

  /** The configured limit that ran out. */
  public Duration limit() {
    return limit;
  }
}
