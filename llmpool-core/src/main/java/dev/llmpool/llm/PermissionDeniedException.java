package dev.llmpool.llm;

import dev.llmpool.Origin;
import org.jspecify.annotations.Nullable;

/** 403: the key is valid but may not use this model, endpoint or region. Not retried. */
public class PermissionDeniedException extends ApiStatusException {
  private static final long serialVersionUID = 1L;

  /** Creates the exception; see {@link ApiStatusException#of(Origin, ApiError)}. */
  public PermissionDeniedException(
      @Nullable Origin origin, ApiError error, boolean requestMayHaveBeenProcessed) {
    super(origin, error, requestMayHaveBeenProcessed);
  }
}
