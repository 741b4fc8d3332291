package dev.llmpool.langchain4j;

import dev.llmpool.LlmPool;
import dev.llmpool.Timeouts;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import org.jspecify.annotations.Nullable;

/**
 * Where LangChain4j's llmpool clients get their pool when a model is built without an explicit
 * {@code httpClientBuilder} (see {@link LlmPoolHttpClientBuilder} for the order).
 *
 * <pre>{@code
 * LlmPool pool = LlmPool.builder().limits(...).build();   // at start-up, before building models
 * LlmPoolLangChain4j.useDefaultPool(pool);
 * ChatModel model = OpenAiChatModel.builder().apiKey(key).modelName("gpt-4o").build();
 * ...
 * pool.close();                                           // at shut-down: the pool is yours
 * }</pre>
 *
 * <p>A model keeps the pool it got when it was built: set the default pool before building models.
 * Thread-safe.
 */
public final class LlmPoolLangChain4j {
  private static volatile @Nullable LlmPool defaultPool;

  /** Pools this module made, by their connect and read timeouts. */
  private static final ConcurrentHashMap<List<Duration>, LlmPool> SHARED =
      new ConcurrentHashMap<>();

  private LlmPoolLangChain4j() {}

  /**
   * Every llmpool HTTP client built from now on without a pool of its own uses {@code pool}. The
   * pool stays yours: this module never closes it.
   */
  public static void useDefaultPool(LlmPool pool) {
    defaultPool = Objects.requireNonNull(pool, "pool");
  }

  /** Clients built from now on use shared pools again (see {@link LlmPoolHttpClientBuilder}). */
  public static void clearDefaultPool() {
    defaultPool = null;
  }

  /** The pool given to {@link #useDefaultPool}, or null. */
  public static @Nullable LlmPool defaultPool() {
    return defaultPool;
  }

  /**
   * Closes the pools this module made itself (for clients built without a pool of their own, while
   * no default pool was set), gracefully (see {@link LlmPool#close()}). For applications that
   * redeploy in a running JVM; otherwise their daemon threads end with the JVM. A client built
   * after this gets a fresh pool; clients built before fail with {@code PoolClosedException}.
   */
  public static void closeSharedPools() {
    List<LlmPool> pools = new ArrayList<>(SHARED.values());
    SHARED.clear();
    for (LlmPool p : pools) {
      p.close();
    }
  }

  static @Nullable LlmPool defaultPoolOrNull() {
    return defaultPool;
  }

  /** The shared pool for these timeouts (null: llmpool's default), made on first use. */
  static LlmPool sharedPool(@Nullable Duration connect, @Nullable Duration read) {
    Timeouts t = Timeouts.DEFAULTS;
    Duration c = connect != null ? connect : t.connect();
    Duration r = read != null ? read : t.read();
    List<Duration> key = List.of(c, r);
    LlmPool p = SHARED.get(key);
    if (p != null && !p.isClosed()) {
      return p;
    }
    return SHARED.compute(
        key,
        (k, old) ->
            old != null && !old.isClosed()
                ? old
                : LlmPool.builder()
                    .timeouts(
                        t.toBuilder()
                            .connect(c)
                            .read(r)
                            // A read limit above the total would never be reached.
                            .total(r.compareTo(t.total()) > 0 ? r : t.total())
                            .build())
                    .build());
  }
}
