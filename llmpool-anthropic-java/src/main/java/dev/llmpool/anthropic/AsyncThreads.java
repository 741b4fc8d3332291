package dev.llmpool.anthropic;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The default executor that completes {@code executeAsync} futures off llmpool's I/O threads: the
 * SDK reads the body in its dependent stages, and a blocking read on an I/O thread would wait for
 * itself. Cached daemon threads, made on demand and gone after a minute idle, so an application
 * that never calls the async API never starts one and none keeps the JVM alive.
 */
final class AsyncThreads {
  private AsyncThreads() {}

  private static final class Holder {
    static final ExecutorService EXECUTOR = create();
  }

  static ExecutorService shared() {
    return Holder.EXECUTOR;
  }

  private static ExecutorService create() {
    AtomicInteger n = new AtomicInteger();
    ThreadPoolExecutor e =
        new ThreadPoolExecutor(
            0,
            Integer.MAX_VALUE,
            60,
            TimeUnit.SECONDS,
            new SynchronousQueue<>(),
            r -> {
              Thread t = new Thread(r, "llmpool-anthropic-async-" + n.incrementAndGet());
              t.setDaemon(true);
              return t;
            });
    return e;
  }
}
