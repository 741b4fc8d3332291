package dev.llmpool.cli;

import dev.llmpool.LlmPoolException;
import dev.llmpool.Origin;
import dev.llmpool.Phase;
import org.jspecify.annotations.Nullable;

/** An error status from the server, for calls the CLI sends as raw HTTP. */
final class HttpStatusFailure extends LlmPoolException {
  private static final long serialVersionUID = 1L;

  private final int status;

  HttpStatusFailure(@Nullable Origin origin, int status, String detail) {
    super(Phase.HTTP_STATUS, origin, "the server answered " + status + detail, true, null);
    this.status = status;
  }

  int status() {
    return status;
  }
}
