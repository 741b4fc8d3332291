package dev.llmpool.langchain4j;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The default executor of streaming callbacks: LangChain4j's listeners (and the application's
 * handlers behind them) run there, never on llmpool's I/O threads, so that they may block or make
 * another model call. Cached daemon threads, made on demand and gone after a minute idle; a thread
 * is busy only while a callback runs, not while a stream waits for its next piece.
 */
final class CallbackThreads {
  private CallbackThreads() {}

  private static final class Holder {
    static final ExecutorService EXECUTOR = create();
  }

  static ExecutorService shared() {
    return Holder.EXECUTOR;
  }

  private static ExecutorService create() {
    AtomicInteger n = new AtomicInteger();
    return new ThreadPoolExecutor(
        0,
        Integer.MAX_VALUE,
        60,
        TimeUnit.SECONDS,
        new SynchronousQueue<>(),
        r -> {
          Thread t = new Thread(r, "llmpool-langchain4j-" + n.incrementAndGet());
          t.setDaemon(true);
          return t;
        });
  }
}
