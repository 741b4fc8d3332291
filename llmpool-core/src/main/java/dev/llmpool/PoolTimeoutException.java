package dev.llmpool;

import java.time.Duration;
import org.jspecify.annotations.Nullable;

/**
 * No connection became free within {@code timeouts.pool}: every connection the limits allow was
 * busy. The message gives the origin, the time waited, the active, idle and pending counts and the
 * limit that bound. The request was not sent. Remedies: raise {@code maxConnections} or {@code
 * maxConnectionsPerHost}, lower the concurrency, or enable HTTP/2.
 */
public class PoolTimeoutException extends LlmTimeoutException {
  private static final long serialVersionUID = 1L;

  /** Creates the exception; {@code detail} must hold no secret. */
  public PoolTimeoutException(@Nullable Origin origin, String detail, Duration limit) {
    this(origin, detail, limit, null);
  }

  /**
   * Creates the exception with a cause: the last failed attempt to open a connection to the origin,
   * when one failed while the call waited (the pool may have timed out because the host is
   * unreachable rather than busy).
   */
  public PoolTimeoutException(
      @Nullable Origin origin, String detail, Duration limit, @Nullable Throwable cause) {
    super(Phase.POOL, origin, detail, limit, false, cause);
  }
}
