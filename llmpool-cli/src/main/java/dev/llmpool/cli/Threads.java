package dev.llmpool.cli;

import java.lang.reflect.Method;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/** Threads for load: virtual threads on JDK 21+, daemon platform threads otherwise. */
final class Threads {
  private Threads() {}

  /**
   * An executor that runs every task on a new thread: virtual on JDK 21+ (llmpool's blocking calls
   * park without pinning them), otherwise a growing pool of daemon threads.
   */
  static ExecutorService perTask(String name) {
    try {
      Method m = Executors.class.getMethod("newVirtualThreadPerTaskExecutor");
      return (ExecutorService) m.invoke(null);
    } catch (ReflectiveOperationException | RuntimeException e) {
      AtomicInteger n = new AtomicInteger();
      return Executors.newCachedThreadPool(
          r -> {
            Thread t = new Thread(r, name + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
          });
    }
  }

  /** Starts a daemon thread. */
  static Thread start(String name, Runnable task) {
    Thread t = new Thread(task, name);
    t.setDaemon(true);
    t.start();
    return t;
  }
}
