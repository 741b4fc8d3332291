package dev.llmpool.transport;

import io.netty.util.concurrent.FastThreadLocalThread;

/**
 * The threads of llmpool's event loops. Blocking llmpool calls refuse to run on them: a blocking
 * call there would wait for the very thread it occupies.
 */
final class IoThread extends FastThreadLocalThread {
  IoThread(Runnable r, String name) {
    super(r, name);
    setDaemon(true);
  }

  /** True when the calling thread is an llmpool I/O thread. */
  static boolean current() {
    return Thread.currentThread() instanceof IoThread;
  }
}
