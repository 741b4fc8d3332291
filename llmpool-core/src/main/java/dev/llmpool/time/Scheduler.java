package dev.llmpool.time;

import java.time.Duration;

/**
 * Runs a task after a delay measured on {@link #ticker()}. The pool schedules its maintenance and
 * its waiters' deadlines here; tests use a {@link ManualScheduler}, which runs due tasks when time
 * is advanced, so nothing sleeps.
 *
 * <p>Tasks must be short and must not block: they run on the scheduler's own thread. Thread-safe.
 */
public interface Scheduler {

  /** The time source that the delays are measured on. */
  Ticker ticker();

  /**
   * Runs {@code task} once, {@code delayNanos} from now (at once when not positive).
   *
   * @return a handle that cancels the task if it has not yet started
   */
  Cancellable schedule(Runnable task, long delayNanos);

  /** Same as {@link #schedule(Runnable, long)} with a {@link Duration}. */
  default Cancellable schedule(Runnable task, Duration delay) {
    return schedule(task, delay.toNanos());
  }

  /** A scheduled task that can still be called off. */
  @FunctionalInterface
  interface Cancellable {
    /** Cancels the task; returns false if it already ran, is running or was cancelled. */
    boolean cancel();
  }

  /**
   * The shared system scheduler: one daemon thread on the system ticker, started on first use and
   * let go after a while without tasks. It needs no shutdown.
   */
  static Scheduler system() {
    return SystemScheduler.INSTANCE;
  }
}
