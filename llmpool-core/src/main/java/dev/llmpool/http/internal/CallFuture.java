package dev.llmpool.http.internal;

import java.util.concurrent.CompletableFuture;

/**
 * The future of a call: cancelling it cancels the call (ends its wait for a connection, or aborts
 * its exchange). Dependent stages made from it are plain futures, as usual.
 */
final class CallFuture<T> extends CompletableFuture<T> {
  private final RealCall call;

  CallFuture(RealCall call) {
    this.call = call;
  }

  RealCall call() {
    return call;
  }

  @Override
  public boolean cancel(boolean mayInterruptIfRunning) {
    boolean cancelled = super.cancel(mayInterruptIfRunning);
    if (cancelled) {
      call.cancelCall();
    }
    return cancelled;
  }

  @Override
  public <U> CompletableFuture<U> newIncompleteFuture() {
    return new CompletableFuture<>();
  }
}
