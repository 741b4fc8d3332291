package dev.llmpool.llm.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import java.util.concurrent.LinkedBlockingQueue;

/**
 * Runs a blocking call's steps on the calling thread: I/O threads only complete futures and hand
 * the next step over; the caller, parked in {@link #await}, runs it. So the decoding, retry logic
 * and stream listener of {@code chat.stream(...)} run on the caller's thread (a virtual thread
 * parks cheaply), never on an event loop.
 *
 * <p>Once the call's result is complete the caller stops running steps: steps still queued run at
 * once on the caller, later ones on whatever thread submits them (they only release resources).
 *
 * <p>Thread-safe; {@link #await} is called once, by the caller.
 */
final class CallerRunsExecutor implements Executor {
  private final LinkedBlockingQueue<Runnable> queue = new LinkedBlockingQueue<>();
  private final Object lock = new Object();
  private boolean closed; // guarded by lock

  @Override
  public void execute(Runnable task) {
    synchronized (lock) {
      if (!closed) {
        queue.add(task);
        return;
      }
    }
    task.run();
  }

  /**
   * Runs steps until {@code result} completes, then returns its value or throws its exception
   * unwrapped. An interrupt cancels {@code result}, keeps the interrupt flag and throws {@link
   * CancellationException}.
   */
  <T> T await(CompletableFuture<T> result) {
    // Wakes the caller when the result completes from another thread.
    var unused = result.whenComplete((v, e) -> queue.add(CallerRunsExecutor::wake));
    boolean interrupted = false;
    try {
      while (!result.isDone()) {
        Runnable task;
        try {
          task = queue.take();
        } catch (InterruptedException e) {
          interrupted = true;
          result.cancel(true);
          continue;
        }
        task.run();
      }
    } finally {
      close();
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
    try {
      return result.join();
    } catch (CompletionException e) {
      Throwable cause = e.getCause();
      if (cause instanceof RuntimeException re) {
        throw re;
      }
      if (cause instanceof Error err) {
        throw err;
      }
      throw e;
    } catch (CancellationException e) {
      CancellationException c =
          new CancellationException(interrupted ? "interrupted" : "cancelled");
      c.initCause(e);
      throw c;
    }
  }

  private static void wake() {}

  private void close() {
    List<Runnable> rest = new ArrayList<>();
    synchronized (lock) {
      closed = true;
      queue.drainTo(rest);
    }
    for (Runnable r : rest) {
      r.run();
    }
  }
}
