package dev.llmpool.cli;

import dev.llmpool.LlmPoolException;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

/** Names and messages for failed calls. */
final class Failures {
  private Failures() {}

  /** The kind a failed call is counted under when it was cancelled by Ctrl-C. */
  static final String CANCELLED = "cancelled";

  /** The cause that matters, without the future's wrappers. */
  static Throwable unwrap(Throwable t) {
    Throwable e = t;
    while ((e instanceof CompletionException || e instanceof ExecutionException)
        && e.getCause() != null) {
      e = e.getCause();
    }
    return e;
  }

  /**
   * The kind a failure is counted under: {@code http:<status>} for an error status, {@code
   * <phase>:<ExceptionType>} for an llmpool exception ({@code connect:ConnectFailedException},
   * {@code pool:PoolTimeoutException}, {@code read:ReadTimeoutException}), {@code cancelled}, or
   * {@code other:<ExceptionType>}.
   */
  static String kind(Throwable t) {
    Throwable e = unwrap(t);
    if (e instanceof HttpStatusFailure s) {
      return "http:" + s.status();
    }
    Integer status = Calls.statusOf(e);
    if (status != null) {
      return "http:" + status;
    }
    if (e instanceof LlmPoolException x) {
      return x.phase().label() + ":" + e.getClass().getSimpleName();
    }
    if (e instanceof CancellationException || e instanceof InterruptedException) {
      return CANCELLED;
    }
    return "other:" + e.getClass().getSimpleName();
  }

  /** One line for the terminal: an llmpool message names the phase and the host already. */
  static String oneLine(Throwable t) {
    Throwable e = unwrap(t);
    String m = e.getMessage();
    if (m == null || m.isBlank()) {
      m = e.getClass().getSimpleName();
    } else if (!(e instanceof LlmPoolException)) {
      m = e.getClass().getSimpleName() + ": " + m;
    }
    int nl = m.indexOf('\n');
    return nl < 0 ? m : m.substring(0, nl);
  }
}
