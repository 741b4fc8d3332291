package dev.llmpool;

import dev.llmpool.http.HttpRequest;
import dev.llmpool.http.StreamingResponse;
import dev.llmpool.http.internal.HttpEngine;
import dev.llmpool.llm.internal.LlmHttp;
import dev.llmpool.llm.internal.LlmHttpRequest;
import dev.llmpool.llm.internal.LlmHttpResponse;
import dev.llmpool.time.Ticker;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.jspecify.annotations.Nullable;

/**
 * The LLM layer's HTTP seam ({@link LlmHttp}) over the pool's HTTP engine: every chat call becomes
 * one streamed exchange whose body is read whole or chunk by chunk, with the engine's timeouts,
 * safe retry and backpressure. Cancelling the returned future cancels the exchange.
 *
 * <p>Thread-safe.
 */
final class PoolLlmHttp implements LlmHttp {
  /** Headers the engine writes itself; the LLM layer should not send them, and they are dropped. */
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

  private final HttpEngine engine;
  private final Ticker ticker;

  PoolLlmHttp(HttpEngine engine, Ticker ticker) {
    this.engine = engine;
    this.ticker = ticker;
  }

  @Override
  @SuppressWarnings("FutureReturnValueIgnored") // both chains end in completing another future
  public CompletableFuture<LlmHttpResponse> send(LlmHttpRequest r) {
    long left = r.deadlineNanos() - ticker.nanoTime();
    if (left <= 0) {
      return CompletableFuture.failedFuture(
          new TotalTimeoutException(
              r.origin(),
              "the call's deadline passed before the request was sent",
              Duration.ZERO,
              false,
              null));
    }
    HttpRequest.Builder b = HttpRequest.post(r.uri().toString());
    String contentType = HttpRequest.JSON;
    for (Map.Entry<String, String> h : r.headers()) {
      String name = h.getKey().toLowerCase(Locale.ROOT);
      if (MANAGED.contains(name)) {
        continue;
      }
      if (name.equals("content-type")) {
        contentType = h.getValue();
        continue;
      }
      b.header(name, h.getValue());
    }
    HttpRequest request = b.body(r.body(), contentType).timeout(Duration.ofNanos(left)).build();
    CompletableFuture<StreamingResponse> exchange = engine.streamAsync(request);
    CompletableFuture<LlmHttpResponse> result = new CompletableFuture<>();
    exchange.whenComplete(
        (response, error) -> {
          if (error != null) {
            result.completeExceptionally(unwrap(error));
          } else if (!result.complete(new Response(r.origin(), response))) {
            response.close(); // the caller gave up meanwhile
          }
        });
    result.whenComplete(
        (v, e) -> {
          if (result.isCancelled()) {
            exchange.cancel(true);
          }
        });
    return result;
  }

  private static Throwable unwrap(Throwable t) {
    return t instanceof CompletionException && t.getCause() != null ? t.getCause() : t;
  }

  /** A streamed response seen as the LLM layer's response. */
  private static final class Response implements LlmHttpResponse {
    private final Origin origin;
    private final StreamingResponse response;

    Response(Origin origin, StreamingResponse response) {
      this.origin = origin;
      this.response = response;
    }

    @Override
    public Origin origin() {
      return origin;
    }

    @Override
    public int status() {
      return response.status();
    }

    @Override
    public @Nullable String header(String lowerCaseName) {
      List<String> values = response.headers().values(lowerCaseName);
      return values.isEmpty()
          ? null
          : values.size() == 1 ? values.get(0) : String.join(", ", values);
    }

    @Override
    public CompletableFuture<byte[]> body(int maxBytes) {
      CompletableFuture<byte[]> out = new CompletableFuture<>();
      var unused =
          response
              .readAllAsync(maxBytes)
              .whenComplete(
                  (bytes, error) -> {
                    if (error == null) {
                      out.complete(bytes);
                      return;
                    }
                    Throwable t = unwrap(error);
                    if (t instanceof ResponseTooLargeException big) {
                      // The seam's contract: a body over the limit is a protocol error.
                      t =
                          new HttpProtocolException(
                              origin,
                              big.getMessage() == null
                                  ? "response too large"
                                  : "response body larger than " + maxBytes + " bytes",
                              true,
                              big);
                    }
                    out.completeExceptionally(t);
                  });
      return out;
    }

    @Override
    public CompletableFuture<@Nullable ByteBuffer> nextChunk() {
      return response.nextChunkAsync();
    }

    @Override
    public void close() {
      response.close();
    }
  }
}
