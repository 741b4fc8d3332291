package dev.llmpool;

import org.jspecify.annotations.Nullable;

/**
 * The pool was closed: before the call asked for a connection, or while it waited for one. The
 * request was not sent.
 */
public class PoolClosedException extends LlmPoolException {
  private static final long serialVersionUID = 1L;

  /** Creates the exception; {@code detail} must hold no secret. */
  public PoolClosedException(@Nullable Origin origin, String detail) {
    super(Phase.POOL, origin, detail, false, null);
  }
}
