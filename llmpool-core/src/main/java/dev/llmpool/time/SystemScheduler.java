package dev.llmpool.time;

import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The shared scheduler behind {@link Scheduler#system()}: a {@link ScheduledThreadPoolExecutor}
 * with one daemon thread that times out when idle, so an application that closes every pool keeps
 * no thread of ours alive. Its delays are measured with {@code System.nanoTime()}, the same clock
 * as {@link Ticker#system()}.
 */
final class SystemScheduler implements Scheduler {
  static final SystemScheduler INSTANCE = new SystemScheduler();

  private final ScheduledThreadPoolExecutor executor;

  private SystemScheduler() {
    AtomicInteger threads = new AtomicInteger();
    ThreadFactory factory =
        r -> {
          Thread t = new Thread(r, "llmpool-scheduler-" + threads.incrementAndGet());
          t.setDaemon(true);
          return t;
        };
    executor = new ScheduledThreadPoolExecutor(1, factory);
    // Cancelled deadlines (the common case: most waiters are served in time) must not pile up.
    executor.setRemoveOnCancelPolicy(true);
    executor.setKeepAliveTime(30, TimeUnit.SECONDS);
    executor.allowCoreThreadTimeOut(true);
  }

  @Override
  public Ticker ticker() {
    return Ticker.system();
  }

  @Override
  public Cancellable schedule(Runnable task, long delayNanos) {
    ScheduledFuture<?> f =
        executor.schedule(guarded(task), Math.max(0L, delayNanos), TimeUnit.NANOSECONDS);
    return () -> f.cancel(false);
  }

  /** A task that throws must not kill the shared thread nor silence later tasks. */
  private static Runnable guarded(Runnable task) {
    return () -> {
      try {
        task.run();
      } catch (RuntimeException | Error e) {
        Thread t = Thread.currentThread();
        t.getUncaughtExceptionHandler().uncaughtException(t, e);
      }
    };
  }

  @Override
  public String toString() {
    return "Scheduler.system()";
  }
}
