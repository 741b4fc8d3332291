package dev.llmpool.anthropic;

import com.anthropic.backends.Backend;
import com.anthropic.core.RequestOptions;
import com.anthropic.core.Timeout;
import com.anthropic.core.http.Headers;
import com.anthropic.core.http.HttpClient;
import com.anthropic.core.http.HttpRequest;
import com.anthropic.core.http.HttpRequestBody;
import com.anthropic.core.http.HttpResponse;
import com.anthropic.errors.AnthropicException;
import com.anthropic.errors.AnthropicIoException;
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
 * The Anthropic Java SDK's HTTP client ({@code com.anthropic.core.http.HttpClient}) on an {@link
 * LlmPool}: every SDK call rides the pool's warm connections (HTTP/1.1 keep-alive or one
 * multiplexed HTTP/2 connection), within its limits, with its timeouts and metrics. It takes the
 * place of {@code AnthropicOkHttpClient}:
 *
 * <pre>{@code
 * LlmPool pool = LlmPool.builder().build();           // one per application; no credentials needed
 * AnthropicBackend backend = AnthropicBackend.fromEnv(); // ANTHROPIC_API_KEY, ANTHROPIC_BASE_URL
 * AnthropicClient client = new AnthropicClientImpl(ClientOptions.builder()
 *     .httpClient(LlmPoolAnthropicHttpClient.of(pool, backend))
 *     .baseUrl(backend.baseUrl())
 *     .build());
 * Message m = client.messages().create(params);
 * }</pre>
 *
 * <p><b>Backend.</b> In this SDK the transport applies the {@link Backend}: the credentials (an
 * {@code AnthropicBackend} sends its API key as {@code x-api-key}), and for other services
 * (Bedrock, Vertex AI) the request rewriting, signing and response adaptation. This client does
 * what the SDK's OkHttp transport does with it: {@code prepareRequest}, then the URL resolved, then
 * {@code authorizeRequest}, and {@code prepareResponse} on the response. Without a backend,
 * requests go out as the SDK built them (set credentials with {@code ClientOptions.putHeader}).
 *
 * <p><b>Ownership.</b> {@link #of(LlmPool)} borrows the pool: closing the SDK client (which closes
 * this HTTP client, as does the SDK when the client is garbage collected) leaves the pool open for
 * its other users; close the pool yourself at shut-down. {@link Builder#closePoolOnClose(boolean)}
 * hands the pool over instead.
 *
 * <p><b>Timeouts.</b> The pool's {@code Timeouts} govern connect, read, write and pool waits. A
 * timeout set through the SDK ({@code ClientOptions.timeout(...)} or a call's {@code
 * RequestOptions}, or the one the SDK derives from {@code max_tokens}) maps its {@code request}
 * limit onto the call's own total limit ({@code HttpRequest.timeout}); the SDK's default {@code
 * Timeout} changes nothing, and a zero {@code request} (the SDK's "no limit") keeps the pool's
 * {@code timeouts.total}.
 *
 * <p><b>Retries.</b> llmpool re-sends a request by itself only when the server provably did not
 * process it, and never one whose body the SDK marks non-repeatable. The SDK retries on status
 * codes (408, 409, 429, 5xx including 529 overloaded) and on I/O errors, {@code maxRetries} times
 * (default 2). Failures reach the SDK as {@link AnthropicIoException} (which the SDK retries) when
 * the server provably did not process the request (no connection, pool timeout, refused stream),
 * and as a plain {@link AnthropicException} (which it does not) when it may have — a read timeout,
 * a connection lost after the request went out — so that a possibly processed, paid-for call is not
 * run twice unless you ask for it with {@link Builder#retryPossiblyProcessed(boolean)}. The {@link
 * LlmPoolException} is the cause.
 *
 * <p>Thread-safe. {@code executeAsync} completes its futures on {@code asyncExecutor} (default: a
 * shared pool of daemon threads), never on llmpool's I/O threads, because the SDK reads the body in
 * the future's dependent stages (the SDK hands them to its {@code completionExecutor} too, but runs
 * them on the completing thread when that executor is saturated).
 */
public final class LlmPoolAnthropicHttpClient implements HttpClient {
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
  private final @Nullable Backend backend;
  private final boolean closePool;
  private final boolean retryPossiblyProcessed;
  private final Executor asyncExecutor;
  private final AtomicBoolean closed = new AtomicBoolean();

  private LlmPoolAnthropicHttpClient(Builder b) {
    this.pool = b.pool;
    this.backend = b.backend;
    this.closePool = b.closePool;
    this.retryPossiblyProcessed = b.retryPossiblyProcessed;
    Executor e = b.asyncExecutor;
    this.asyncExecutor = e != null ? e : AsyncThreads.shared();
  }

  /**
   * An HTTP client on {@code pool} that borrows it: closing the client leaves the pool open.
   * Failures the server may have processed are not retried by the SDK.
   */
  public static LlmPoolAnthropicHttpClient of(LlmPool pool) {
    return builder(pool).build();
  }

  /**
   * An HTTP client on {@code pool} that applies {@code backend} (credentials, and the adaptations
   * of a non-Anthropic service) to every request, and borrows the pool. Closing the client closes
   * the backend, as the SDK's own transport does.
   */
  public static LlmPoolAnthropicHttpClient of(LlmPool pool, Backend backend) {
    return builder(pool).backend(backend).build();
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
    HttpResponse response;
    try {
      response = new PooledResponse(pool.stream(r));
    } catch (LlmPoolException e) {
      throw translate(e);
    }
    return prepareResponse(response);
  }

  /** The backend's view of the response ({@code prepareResponse}); closes it if that fails. */
  private HttpResponse prepareResponse(HttpResponse response) {
    Backend be = backend;
    if (be == null) {
      return response;
    }
    try {
      return be.prepareResponse(response);
    } catch (RuntimeException e) {
      response.close();
      throw e;
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
                    new AnthropicException("the async executor rejected the response", e));
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
      HttpResponse sdk;
      try {
        sdk = prepareResponse(new PooledResponse(response));
      } catch (RuntimeException e) {
        result.completeExceptionally(e);
        return;
      }
      if (!result.complete(sdk)) {
        sdk.close(); // cancelled meanwhile
      }
    } else {
      result.completeExceptionally(translate(Objects.requireNonNull(error)));
    }
  }

  /**
   * Closes this client and its backend: later calls fail with {@link IllegalStateException}; calls
   * in flight finish. The pool is closed too only when this client was built with {@link
   * Builder#closePoolOnClose(boolean) closePoolOnClose(true)}. Idempotent.
   */
  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    try {
      Backend be = backend;
      if (be != null) {
        be.close();
      }
    } finally {
      if (closePool) {
        pool.close();
      }
    }
  }

  @Override
  public String toString() {
    return "LlmPoolAnthropicHttpClient{" + pool + "}";
  }

  /** The SDK's request as an llmpool request; reads (and closes) the SDK's body. */
  private dev.llmpool.http.HttpRequest toPool(HttpRequest sdkRequest, RequestOptions options) {
    if (closed.get()) {
      throw new IllegalStateException("this LlmPoolAnthropicHttpClient is closed");
    }
    HttpRequest request = sdkRequest;
    String url;
    Backend be = backend;
    if (be == null) {
      url = request.url();
    } else {
      // As the SDK's transport: adapt, resolve the URL (signing needs it whole), then authorize.
      HttpRequest prepared = be.prepareRequest(request);
      request = be.authorizeRequest(prepared.toBuilder().baseUrl(prepared.url()).build());
      url = Objects.requireNonNull(request.baseUrl(), "baseUrl");
    }
    dev.llmpool.http.HttpRequest.Builder b =
        dev.llmpool.http.HttpRequest.builder(request.method().name(), url);
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
      return new AnthropicException(e.getMessage(), e);
    }
    if (t instanceof LlmPoolException e) {
      return !e.requestMayHaveBeenProcessed() || retryPossiblyProcessed
          ? new AnthropicIoException(e.getMessage(), e)
          : new AnthropicException(e.getMessage(), e);
    }
    if (t instanceof RuntimeException e) {
      return e;
    }
    return new AnthropicException(t.getMessage(), t);
  }

  /** Configures an {@link LlmPoolAnthropicHttpClient}. Not thread-safe. */
  public static final class Builder {
    private final LlmPool pool;
    private @Nullable Backend backend;
    private boolean closePool;
    private boolean retryPossiblyProcessed;
    private @Nullable Executor asyncExecutor;

    private Builder(LlmPool pool) {
      this.pool = Objects.requireNonNull(pool, "pool");
    }

    /**
     * The backend applied to every request and response: credentials (e.g. {@code
     * AnthropicBackend.fromEnv()} or {@code AnthropicBackend.builder().apiKey(key).build()}), and
     * for Bedrock or Vertex AI the request rewriting and signing. Default none. Closed with the
     * client.
     */
    public Builder backend(Backend backend) {
      this.backend = Objects.requireNonNull(backend, "backend");
      return this;
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
     * reaches the SDK as a non-retryable {@link AnthropicException}, since re-sending could run
     * (and bill) the call twice. True: it is an {@link AnthropicIoException}, retried as the SDK
     * retries I/O errors.
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
    public LlmPoolAnthropicHttpClient build() {
      return new LlmPoolAnthropicHttpClient(this);
    }
  }
}
