package dev.llmpool.langchain4j;

import dev.langchain4j.http.client.HttpClientBuilder;
import dev.llmpool.LlmPool;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.Executor;
import org.jspecify.annotations.Nullable;

/**
 * Builds an {@link LlmPoolHttpClient}. LangChain4j's model builders call {@link
 * #connectTimeout(Duration)} and {@link #readTimeout(Duration)} (15 s and 60 s unless the model is
 * given its own {@code timeout}), then {@link #build()}.
 *
 * <p><b>Which pool.</b> In order:
 *
 * <ol>
 *   <li>the pool given to {@link #pool(LlmPool)};
 *   <li>else the application's pool given to {@link LlmPoolLangChain4j#useDefaultPool(LlmPool)};
 *   <li>else a pool shared by every client built with the same connect and read timeouts, made on
 *       first use with llmpool's defaults and those two timeouts (llmpool's {@code read} limit is
 *       the longest silence while a response is awaited or streams, which is what a read timeout
 *       means). Its threads are daemon threads; {@link LlmPoolLangChain4j#closeSharedPools()}
 *       closes these pools.
 * </ol>
 *
 * <p>With a pool of your own (1 or 2), the pool's own {@code Timeouts} govern and the model's
 * connect and read timeouts are not applied. Nothing in this module ever closes a pool it did not
 * make. Not thread-safe.
 */
public final class LlmPoolHttpClientBuilder implements HttpClientBuilder {
  private @Nullable LlmPool pool;
  private @Nullable Duration connectTimeout;
  private @Nullable Duration readTimeout;
  private @Nullable Executor executor;
  private boolean retryPossiblyProcessed;

  LlmPoolHttpClientBuilder() {}

  /** Sends through this pool (which stays the caller's to close). */
  public LlmPoolHttpClientBuilder pool(LlmPool pool) {
    this.pool = Objects.requireNonNull(pool, "pool");
    return this;
  }

  @Override
  public @Nullable Duration connectTimeout() {
    return connectTimeout;
  }

  /** The connect limit of the shared pool this client gets (ignored with a pool of your own). */
  @Override
  public LlmPoolHttpClientBuilder connectTimeout(@Nullable Duration timeout) {
    this.connectTimeout = positiveOrNull(timeout, "connectTimeout");
    return this;
  }

  @Override
  public @Nullable Duration readTimeout() {
    return readTimeout;
  }

  /** The read limit of the shared pool this client gets (ignored with a pool of your own). */
  @Override
  public LlmPoolHttpClientBuilder readTimeout(@Nullable Duration timeout) {
    this.readTimeout = positiveOrNull(timeout, "readTimeout");
    return this;
  }

  private static @Nullable Duration positiveOrNull(@Nullable Duration d, String name) {
    if (d != null && (d.isNegative() || d.isZero())) {
      throw new IllegalArgumentException(name + " must be positive, got " + d);
    }
    return d;
  }

  /**
   * Where streaming callbacks (LangChain4j's SSE listener, and the application's handler behind it)
   * run. Default: a shared pool of daemon threads. Never llmpool's I/O threads.
   */
  public LlmPoolHttpClientBuilder executor(Executor executor) {
    this.executor = Objects.requireNonNull(executor, "executor");
    return this;
  }

  /**
   * Whether LangChain4j's retries may re-send a call that failed after the server may have
   * processed it (a read timeout, a connection lost mid-response). Default false: such a failure is
   * a {@code NonRetriableException} (cause: the {@link dev.llmpool.LlmPoolException}), so a
   * paid-for call is not run twice. True: a {@code TimeoutException} or {@code RetriableException},
   * retried by LangChain4j's {@code maxRetries}.
   */
  public LlmPoolHttpClientBuilder retryPossiblyProcessed(boolean retry) {
    this.retryPossiblyProcessed = retry;
    return this;
  }

  @Override
  public LlmPoolHttpClient build() {
    LlmPool p = pool;
    if (p == null) {
      p = LlmPoolLangChain4j.defaultPoolOrNull();
    }
    if (p == null) {
      p = LlmPoolLangChain4j.sharedPool(connectTimeout, readTimeout);
    }
    Executor e = executor;
    return new LlmPoolHttpClient(
        p, e != null ? e : CallbackThreads.shared(), retryPossiblyProcessed);
  }
}
