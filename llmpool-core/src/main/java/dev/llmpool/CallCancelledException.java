package dev.llmpool;

/**
 * The call was cancelled by its caller: its future was cancelled, the thread waiting for it was
 * interrupted, or a streamed response was closed before its end. {@link
 * #requestMayHaveBeenProcessed()} says whether the request had reached the server by then.
 */
public class CallCancelledException extends LlmPoolException {
  private static final long serialVersionUID = 1L;

  /** Creates the exception for a call to {@code origin} cancelled during {@code phase}. */
  public CallCancelledException(Phase phase, Origin origin, boolean requestMayHaveBeenProcessed) {
    super(phase, origin, "the call was cancelled", requestMayHaveBeenProcessed, null);
  }
}
