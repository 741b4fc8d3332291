package dev.llmpool;

import org.jspecify.annotations.Nullable;

/** The host name could not be resolved (phase {@link Phase#DNS}). The request was not sent. */
public class DnsException extends LlmPoolException {
  private static final long serialVersionUID = 1L;

  /** Creates the exception; {@code detail} must hold no secret. */
  public DnsException(
      @Nullable Origin origin,
      String detail,
      boolean requestMayHaveBeenProcessed,
      @Nullable Throwable cause) {
    super(Phase.DNS, origin, detail, requestMayHaveBeenProcessed, cause);
  }
}
