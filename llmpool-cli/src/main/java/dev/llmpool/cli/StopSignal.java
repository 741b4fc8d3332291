package dev.llmpool.cli;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Ctrl-C for a long-running command: the shutdown hook asks the command to stop, then waits (up to
 * {@link #REPORT_WAIT_SECONDS}) while the command stops its work and prints the figures so far; the
 * JVM exits when the hook returns. Tests call {@link #stop()} instead of sending a signal.
 * Thread-safe.
 */
final class StopSignal implements AutoCloseable {
  /** How long Ctrl-C waits for the figures so far before the JVM exits anyway. */
  static final int REPORT_WAIT_SECONDS = 15;

  private final CountDownLatch stopped = new CountDownLatch(1);
  private final CountDownLatch reported = new CountDownLatch(1);
  private final List<Runnable> onStop = new CopyOnWriteArrayList<>();
  private final Thread hook;

  StopSignal(String name) {
    this.hook =
        new Thread(
            () -> {
              stop();
              try {
                reported.await(REPORT_WAIT_SECONDS, TimeUnit.SECONDS);
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              }
            },
            "llmpool-" + name + "-ctrl-c");
  }

  /** Installs the shutdown hook (Ctrl-C, SIGTERM) until {@link #close()}. */
  StopSignal install() {
    Runtime.getRuntime().addShutdownHook(hook);
    return this;
  }

  /** Asks the command to stop: runs the registered actions once. */
  void stop() {
    if (stopped.getCount() == 0) {
      return;
    }
    stopped.countDown();
    for (Runnable r : onStop) {
      r.run();
    }
  }

  boolean isStopped() {
    return stopped.getCount() == 0;
  }

  /** Runs {@code action} on stop (at once when already stopped). */
  void onStop(Runnable action) {
    onStop.add(action);
    if (isStopped()) {
      action.run();
    }
  }

  /**
   * Waits up to {@code nanos} for a stop; true if stopped. The way to pause in a command without
   * sleeping: Ctrl-C ends the wait at once.
   */
  boolean await(long nanos) throws InterruptedException {
    return stopped.await(nanos, TimeUnit.NANOSECONDS);
  }

  /** The command has printed what it had to: lets the hook return and removes it. */
  @Override
  public void close() {
    reported.countDown();
    try {
      Runtime.getRuntime().removeShutdownHook(hook);
    } catch (IllegalStateException e) {
      // Already shutting down (Ctrl-C): the hook is running and now returns.
    }
  }
}
