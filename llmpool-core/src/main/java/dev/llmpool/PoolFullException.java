package dev.llmpool;

import org.jspecify.annotations.Nullable;

/**
 * Thrown at once, without waiting, when {@code maxPendingAcquires} calls are already waiting for a
 * connection: backpressure instead of an unbounded queue. The request was not sent.
 */
public class PoolFullException extends LlmPoolException {
  private static final long serialVersionUID = 1L;

  /** Creates the exception; {@code detail} must hold no secret. */
  public PoolFullException(@Nullable Origin origin, String detail) {
    super(Phase.POOL, origin, detail, false, null);
  }
}
