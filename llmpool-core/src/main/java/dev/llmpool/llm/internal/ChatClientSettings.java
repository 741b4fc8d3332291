package dev.llmpool.llm.internal;

import dev.llmpool.EventListener;
import dev.llmpool.Timeouts;
import dev.llmpool.llm.ChatObserver;
import dev.llmpool.llm.Pacing;
import dev.llmpool.llm.RetryPolicy;
import dev.llmpool.time.Scheduler;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.Executor;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.DoubleSupplier;
import java.util.function.LongSupplier;
import org.jspecify.annotations.Nullable;

/**
 * Everything a chat client needs besides its endpoint and the HTTP seam: retry policy, pacer,
 * {@code timeouts.total}, time, executor for async steps, event listener, size bounds. Immutable;
 * the pacer inside is shared by every client made with these settings (one pacer per API key is
 * right: the limits are the key's).
 *
 * @param retryPolicy when to retry
 * @param pacer the shared rate-limit pacer
 * @param totalTimeout the bound on a whole call, retries and waits included
 * @param scheduler time and delayed steps (retries, pacing, the total deadline)
 * @param asyncExecutor where the steps of async calls run (stream listeners included); null runs
 *     them on the thread that completed the previous step, usually an I/O thread
 * @param eventListener hears retries
 * @param callIds ids for {@link EventListener.CallInfo}
 * @param maxResponseBytes the largest non-streamed 2xx body accepted
 * @param maxErrorBytes the most of an error body read
 * @param maxEventBytes the largest SSE line or event
 * @param random the jitter's random source, values in [0, 1)
 * @param observer hears every call once when it ends, or null for none (then nothing is measured
 *     for it)
 */
public record ChatClientSettings(
    RetryPolicy retryPolicy,
    RateLimitPacer pacer,
    Duration totalTimeout,
    Scheduler scheduler,
    @Nullable Executor asyncExecutor,
    EventListener eventListener,
    LongSupplier callIds,
    int maxResponseBytes,
    int maxErrorBytes,
    int maxEventBytes,
    DoubleSupplier random,
    @Nullable ChatObserver observer) {

  /** The default largest non-streamed response: 32 MiB. */
  public static final int DEFAULT_MAX_RESPONSE_BYTES = 32 << 20;

  /** The default most of an error body read: 1 MiB. */
  public static final int DEFAULT_MAX_ERROR_BYTES = 1 << 20;

  /** Checks the parts. */
  public ChatClientSettings {
    Objects.requireNonNull(retryPolicy, "retryPolicy");
    Objects.requireNonNull(pacer, "pacer");
    Objects.requireNonNull(scheduler, "scheduler");
    Objects.requireNonNull(eventListener, "eventListener");
    Objects.requireNonNull(callIds, "callIds");
    Objects.requireNonNull(random, "random");
    if (totalTimeout.isNegative() || totalTimeout.isZero()) {
      throw new IllegalArgumentException("totalTimeout must be positive, got " + totalTimeout);
    }
    if (maxResponseBytes < 1) {
      throw new IllegalArgumentException(
          "maxResponseBytes must be positive, got " + maxResponseBytes);
    }
    if (maxErrorBytes < 1024 || maxEventBytes < 1024) {
      throw new IllegalArgumentException("error and event size bounds must be at least 1 KiB");
    }
  }

  /** The defaults on the system scheduler: SDK retries, no pacing, 10 min total. */
  public static ChatClientSettings defaults() {
    return defaults(Scheduler.system());
  }

  /** The defaults on {@code scheduler}. */
  public static ChatClientSettings defaults(Scheduler scheduler) {
    AtomicLong ids = new AtomicLong();
    return new ChatClientSettings(
        RetryPolicy.DEFAULT,
        new RateLimitPacer(Pacing.OFF),
        Timeouts.DEFAULTS.total(),
        scheduler,
        null,
        EventListener.NONE,
        ids::incrementAndGet,
        DEFAULT_MAX_RESPONSE_BYTES,
        DEFAULT_MAX_ERROR_BYTES,
        SseParser.DEFAULT_MAX_EVENT_BYTES,
        () -> ThreadLocalRandom.current().nextDouble(),
        null);
  }

  /** These settings with another retry policy. */
  public ChatClientSettings withRetryPolicy(RetryPolicy p) {
    return new ChatClientSettings(
        p,
        pacer,
        totalTimeout,
        scheduler,
        asyncExecutor,
        eventListener,
        callIds,
        maxResponseBytes,
        maxErrorBytes,
        maxEventBytes,
        random,
        observer);
  }

  /** These settings with a new pacer for {@code pacing}. */
  public ChatClientSettings withPacing(Pacing pacing) {
    return new ChatClientSettings(
        retryPolicy,
        new RateLimitPacer(pacing),
        totalTimeout,
        scheduler,
        asyncExecutor,
        eventListener,
        callIds,
        maxResponseBytes,
        maxErrorBytes,
        maxEventBytes,
        random,
        observer);
  }

  /** These settings with another total timeout. */
  public ChatClientSettings withTotalTimeout(Duration total) {
    return new ChatClientSettings(
        retryPolicy,
        pacer,
        total,
        scheduler,
        asyncExecutor,
        eventListener,
        callIds,
        maxResponseBytes,
        maxErrorBytes,
        maxEventBytes,
        random,
        observer);
  }

  /** These settings with another async executor (null: the completing thread). */
  public ChatClientSettings withAsyncExecutor(@Nullable Executor executor) {
    return new ChatClientSettings(
        retryPolicy,
        pacer,
        totalTimeout,
        scheduler,
        executor,
        eventListener,
        callIds,
        maxResponseBytes,
        maxErrorBytes,
        maxEventBytes,
        random,
        observer);
  }

  /** These settings with another event listener. */
  public ChatClientSettings withEventListener(EventListener listener) {
    return new ChatClientSettings(
        retryPolicy,
        pacer,
        totalTimeout,
        scheduler,
        asyncExecutor,
        listener,
        callIds,
        maxResponseBytes,
        maxErrorBytes,
        maxEventBytes,
        random,
        observer);
  }

  /** These settings with other size bounds. */
  public ChatClientSettings withLimits(int maxResponse, int maxError, int maxEvent) {
    return new ChatClientSettings(
        retryPolicy,
        pacer,
        totalTimeout,
        scheduler,
        asyncExecutor,
        eventListener,
        callIds,
        maxResponse,
        maxError,
        maxEvent,
        random,
        observer);
  }

  /** These settings with another jitter source. */
  public ChatClientSettings withRandom(DoubleSupplier r) {
    return new ChatClientSettings(
        retryPolicy,
        pacer,
        totalTimeout,
        scheduler,
        asyncExecutor,
        eventListener,
        callIds,
        maxResponseBytes,
        maxErrorBytes,
        maxEventBytes,
        r,
        observer);
  }

  /** These settings with another observer (null: none). */
  public ChatClientSettings withObserver(@Nullable ChatObserver o) {
    return new ChatClientSettings(
        retryPolicy,
        pacer,
        totalTimeout,
        scheduler,
        asyncExecutor,
        eventListener,
        callIds,
        maxResponseBytes,
        maxErrorBytes,
        maxEventBytes,
        random,
        o);
  }

  /** These settings with a given pacer (shared with other clients of the same key). */
  public ChatClientSettings withPacer(RateLimitPacer p) {
    return new ChatClientSettings(
        retryPolicy,
        p,
        totalTimeout,
        scheduler,
        asyncExecutor,
        eventListener,
        callIds,
        maxResponseBytes,
        maxErrorBytes,
        maxEventBytes,
        random,
        observer);
  }

  /** These settings with another source of call ids. */
  public ChatClientSettings withCallIds(LongSupplier ids) {
    return new ChatClientSettings(
        retryPolicy,
        pacer,
        totalTimeout,
        scheduler,
        asyncExecutor,
        eventListener,
        ids,
        maxResponseBytes,
        maxErrorBytes,
        maxEventBytes,
        random,
        observer);
  }
}
