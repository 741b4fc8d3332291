package dev.llmpool.openai;

import com.openai.core.RequestOptions;
import com.openai.core.Timeout;
import com.openai.core.http.Headers;
import com.openai.core.http.HttpClient;
import com.openai.core.http.HttpRequest;
import com.openai.core.http.HttpRequestBody;
import com.openai.core.http.HttpResponse;
import com.openai.errors.OpenAIException;
import com.openai.errors.OpenAIIoException;
import dev.llmpool.LlmPool;
import dev.llmpool.LlmPoolException;
import dev.llmpool.PoolClosedException;
import dev.llmpool.http.StreamingResponse;
import java.io.ByteArrayOutputStream;
import java.time.Duration;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jspecify.annotations.Nullable;

/**
 * The OpenAI Java SDK's HTTP client ({@code com.openai.core.http.HttpClient}) on an {@link
 * LlmPool}: every SDK call rides the pool's warm connections (HTTP/1.1 keep-alive or one
 * multiplexed HTTP/2 connection), within its limits, with its timeouts and metrics. It takes the
 * place of {@code OpenAIOkHttpClient}:
 *
 * <pre>{@code
 * LlmPool pool = LlmPool.builder().build();          // one per application; no credentials needed
 * OpenAIClient client = new OpenAIClientImpl(ClientOptions.builder()
 *     .httpClient(LlmPoolOpenAiHttpClient.of(pool))
 *     .apiKey(System.getenv("OPENAI_API_KEY"))       // or .fromEnv()
 *     .build());
 * ChatCompletion c = client.chat().completions().create(params);
 * }</pre>
 *
 * <p><b>Ownership.</b> {@link #of(LlmPool)} borrows the pool: closing the SDK client (which closes
 * this HTTP client, as does the SDK when the client is garbage collected) leaves the pool open for
 * its other users; close the pool yourself at shut-down. {@link Builder#closePoolOnClose(boolean)}
 * hands the pool over instead.
 *
 * <p><b>Timeouts.</b> The pool's {@code Timeouts} govern connect, read, write and pool waits. A
 * timeout set through the SDK ({@code ClientOptions.timeout(...)} or a call's {@code
 * RequestOptions}) maps its {@code request} limit onto the call's own total limit ({@code
 * HttpRequest.timeout}); the SDK's default {@code Timeout} changes nothing, and a zero {@code
 * request} (the SDK's "no limit") keeps the pool's {@code timeouts.total}.
 *
 * <p><b>Retries.</b> llmpool re-sends a request by itself only when the server provably did not
 * process it, and never one whose body the SDK marks non-repeatable. The SDK retries on status
 * codes (408, 409, 429, 5xx) and on I/O errors, {@code maxRetries} times (default 2). Failures
 * reach the SDK as {@link OpenAIIoException} (which the SDK retries) when the server provably did
 * not process the request (no connection, pool timeout, refused stream), and as a plain {@link
 * OpenAIException} (which it does not) when it may have — a read timeout, a connection lost after
 * the request went out — so that a possibly processed, paid-for call is not run twice unless you
 * ask for it with {@link Builder#retryPossiblyProcessed(boolean)}. The {@link LlmPoolException} is
 * the cause.
 *
 * <p>Thread-safe. {@code executeAsync} completes its futures on {@code asyncExecutor} (default: a
 * shared pool of daemon threads), never on llmpool's I/O threads, because the SDK reads the body in
 * the future's dependent stages.
 */
public final class LlmPoolOpenAiHttpClient implements HttpClient {
  /** Headers llmpool sets itself and refuses in a request. */
  private static final Set<String> MANAGED =
      Set.of(
          "host",
          "content-length",
          "transfer-encoding",
          "connection",
          "keep-alive",
          "proxy-connection",
          "upgrade",
          "te");

  private static final Timeout SDK_DEFAULT_TIMEOUT = Timeout.builder().build();

  private final LlmPool pool;
  private final boolean closePool;
  private final boolean retryPossiblyProcessed;
  private final Executor asyncExecutor;
  private final AtomicBoolean closed = new AtomicBoolean();

  private LlmPoolOpenAiHttpClient(Builder b) {
    this.pool = b.pool;
    this.closePool = b.closePool;
    this.retryPossiblyProcessed = b.retryPossiblyProcessed;
    Executor e = b.asyncExecutor;
    this.asyncExecutor = e != null ? e : AsyncThreads.shared();
  }

  /**
   * An HTTP client on {@code pool} that borrows it: closing the client leaves the pool open.
   * Failures the server may have processed are not retried by the SDK.
   */
  public static LlmPoolOpenAiHttpClient of(LlmPool pool) {
    return builder(pool).build();
  }

  /** A builder of an HTTP client on {@code pool}. */
  public static Builder builder(LlmPool pool) {
    return new Builder(pool);
  }

  /** The pool this client sends through. */
  public LlmPool pool() {
    return pool;
  }

  @Override
  public HttpResponse execute(HttpRequest request, RequestOptions requestOptions) {
    dev.llmpool.http.HttpRequest r = toPool(request, requestOptions);
    try {
      return new PooledResponse(pool.stream(r));
    } catch (LlmPoolException e) {
      throw translate(e);
    }
  }

  @Override
  public CompletableFuture<HttpResponse> executeAsync(
      HttpRequest request, RequestOptions requestOptions) {
    CompletableFuture<HttpResponse> result = new CompletableFuture<>();
    dev.llmpool.http.HttpRequest r;
    try {
      r = toPool(request, requestOptions);
    } catch (RuntimeException e) {
      result.completeExceptionally(e);
      return result;
    }
    CompletableFuture<StreamingResponse> call = pool.streamAsync(r);
    // Runs on an llmpool I/O thread: hand the outcome to the executor, where the SDK's dependent
    // stages (which read the body, blocking) may run.
    var unused =
        call.whenComplete(
            (response, error) -> {
              try {
                asyncExecutor.execute(() -> deliver(result, response, error));
              } catch (RejectedExecutionException e) {
                if (response != null) {
                  response.close();
                }
                result.completeExceptionally(
                    new OpenAIException("the async executor rejected the response", e));
              }
            });
    var unused2 =
        result.whenComplete(
            (v, e) -> {
              if (e instanceof CancellationException) {
                call.cancel(true);
              }
            });
    return result;
  }

  private void deliver(
      CompletableFuture<HttpResponse> result,
      @Nullable StreamingResponse response,
      @Nullable Throwable error) {
    if (response != null) {
      PooledResponse sdk = new PooledResponse(response);
      if (!result.complete(sdk)) {
        sdk.close(); // cancelled meanwhile
      }
    } else {
      result.completeExceptionally(translate(Objects.requireNonNull(error)));
    }
  }

  /**
   * Closes this client: later calls fail with {@link IllegalStateException}; calls in flight
   * finish. The pool is closed too only when this client was built with {@link
   * Builder#closePoolOnClose(boolean) closePoolOnClose(true)}. Idempotent.
   */
  @Override
  public void close() {
    if (closed.compareAndSet(false, true) && closePool) {
      pool.close();
    }
  }

  @Override
  public String toString() {
    return "LlmPoolOpenAiHttpClient{" + pool + "}";
  }

  /** The SDK's request as an llmpool request; reads (and closes) the SDK's body. */
  private dev.llmpool.http.HttpRequest toPool(HttpRequest request, RequestOptions options) {
    if (closed.get()) {
      throw new IllegalStateException("this LlmPoolOpenAiHttpClient is closed");
    }
    dev.llmpool.http.HttpRequest.Builder b =
        dev.llmpool.http.HttpRequest.builder(request.method().name(), request.url());
    HttpRequestBody body = request.body();
    Headers headers = request.headers();
    for (String name : headers.names()) {
      String lower = name.toLowerCase(Locale.ROOT);
      if (MANAGED.contains(lower) || (body != null && lower.equals("content-type"))) {
        continue;
      }
      for (String value : headers.values(name)) {
        b.header(name, value);
      }
    }
    if (body != null) {
      try (body) {
        long length = body.contentLength();
        ByteArrayOutputStream out =
            new ByteArrayOutputStream(length > 0 && length < (1 << 24) ? (int) length : 8192);
        body.writeTo(out);
        String type = body.contentType();
        // A fresh array nobody else holds: no second copy.
        b.bodyWithoutCopy(out.toByteArray(), type != null ? type : "application/octet-stream");
        if (!body.repeatable()) {
          // The SDK says this body cannot be sent twice: neither llmpool nor the SDK re-sends it.
          b.resendIfUnprocessed(false);
        }
      }
    }
    Duration total = callTimeout(options.getTimeout());
    if (total != null) {
      b.timeout(total);
    }
    return b.build();
  }

  /** The call's own total limit from the SDK's timeout, or null to keep the pool's. */
  static @Nullable Duration callTimeout(@Nullable Timeout timeout) {
    if (timeout == null || timeout.equals(SDK_DEFAULT_TIMEOUT)) {
      return null;
    }
    Duration request = timeout.request();
    return request.isZero() || request.isNegative() ? null : request;
  }

  /** llmpool's failure as the SDK's exception (see the class description). */
  RuntimeException translate(Throwable error) {
    Throwable t = error;
    while (t instanceof CompletionException && t.getCause() != null) {
      t = t.getCause();
    }
    if (t instanceof PoolClosedException e) {
      return new OpenAIException(e.getMessage(), e);
    }
    if (t instanceof LlmPoolException e) {
      return !e.requestMayHaveBeenProcessed() || retryPossiblyProcessed
          ? new OpenAIIoException(e.getMessage(), e)
          : new OpenAIException(e.getMessage(), e);
    }
    if (t instanceof RuntimeException e) {
      return e;
    }
    return new OpenAIException(t.getMessage(), t);
  }

  /** Configures an {@link LlmPoolOpenAiHttpClient}. Not thread-safe. */
  public static final class Builder {
    private final LlmPool pool;
    private boolean closePool;
    private boolean retryPossiblyProcessed;
    private @Nullable Executor asyncExecutor;

    private Builder(LlmPool pool) {
      this.pool = Objects.requireNonNull(pool, "pool");
    }

    /**
     * Whether closing the client closes the pool too. Default false: the pool is borrowed, and
     * whoever built it closes it. True hands it over (one pool per SDK client).
     */
    public Builder closePoolOnClose(boolean close) {
      this.closePool = close;
      return this;
    }

    /**
     * Whether the SDK's own retries may re-send a request that failed after the server may have
     * processed it (a read timeout, a connection lost mid-response). Default false: such a failure
     * reaches the SDK as a non-retryable {@link OpenAIException}, since re-sending could run (and
     * bill) the call twice. True: it is an {@link OpenAIIoException}, retried as the SDK retries
     * I/O errors.
     */
    public Builder retryPossiblyProcessed(boolean retry) {
      this.retryPossiblyProcessed = retry;
      return this;
    }

    /**
     * Where {@code executeAsync} futures complete (the SDK's async stages run there and read the
     * body). Default: a shared pool of daemon threads, started on first use.
     */
    public Builder asyncExecutor(Executor executor) {
      this.asyncExecutor = Objects.requireNonNull(executor, "executor");
      return this;
    }

    /** The client. */
    public LlmPoolOpenAiHttpClient build() {
      return new LlmPoolOpenAiHttpClient(this);
    }
  }
}
