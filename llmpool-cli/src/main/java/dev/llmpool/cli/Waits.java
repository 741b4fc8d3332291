package dev.llmpool.cli;

import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** Waiting for futures from a command's main thread, stoppable by Ctrl-C. */
final class Waits {
  private Waits() {}

  /**
   * Waits for {@code future}; its failure is rethrown unwrapped (an llmpool exception names the
   * phase and host). A stop cancels it and throws {@link CancellationException}.
   */
  static <T> T get(CompletableFuture<T> future, StopSignal stop) throws InterruptedException {
    while (true) {
      try {
        return future.get(50, TimeUnit.MILLISECONDS);
      } catch (TimeoutException e) {
        if (stop.isStopped()) {
          future.cancel(true);
          throw new CancellationException("stopped");
        }
      } catch (ExecutionException e) {
        Throwable cause = Failures.unwrap(e);
        if (cause instanceof RuntimeException r) {
          throw r;
        }
        if (cause instanceof Error err) {
          throw err;
        }
        throw new IllegalStateException(cause.getMessage(), cause);
      }
    }
  }
}
