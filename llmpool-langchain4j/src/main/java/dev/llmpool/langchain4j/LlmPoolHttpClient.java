package dev.llmpool.langchain4j;

import dev.langchain4j.exception.NonRetriableException;
import dev.langchain4j.exception.RetriableException;
import dev.langchain4j.exception.TimeoutException;
import dev.langchain4j.http.client.FormDataFile;
import dev.langchain4j.http.client.HttpClient;
import dev.langchain4j.http.client.HttpRequest;
import dev.langchain4j.http.client.SuccessfulHttpResponse;
import dev.langchain4j.http.client.sse.DefaultServerSentEventParser;
import dev.langchain4j.http.client.sse.ServerSentEvent;
import dev.langchain4j.http.client.sse.ServerSentEventContext;
import dev.langchain4j.http.client.sse.ServerSentEventListener;
import dev.langchain4j.http.client.sse.ServerSentEventParser;
import dev.langchain4j.http.client.sse.ServerSentEventParsingHandle;
import dev.llmpool.LlmPool;
import dev.llmpool.LlmPoolException;
import dev.llmpool.LlmTimeoutException;
import dev.llmpool.PoolClosedException;
import dev.llmpool.http.HttpHeaders;
import dev.llmpool.http.HttpResponse;
import dev.llmpool.http.StreamingResponse;
import dev.llmpool.llm.SseDecoder;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * LangChain4j's {@link HttpClient} on an {@link LlmPool}: every model call rides the pool's warm
 * connections, within its limits and timeouts.
 *
 * <ul>
 *   <li>{@link #execute(HttpRequest)} sends and reads the whole answer; a non-2xx status throws
 *       {@link LlmPoolHttpException}, an {@code HttpException} that keeps the response headers.
 *   <li>{@link #execute(HttpRequest, ServerSentEventListener)} streams: events are decoded by
 *       llmpool's SSE decoder ({@link SseDecoder}, WHATWG rules) as the body's pieces arrive, and
 *       delivered on the callback executor; no thread is held while the stream waits for data. An
 *       event without an {@code event:} field has a null {@link ServerSentEvent#event()}, as with
 *       LangChain4j's own parser. A listener exception is logged and ignored, as LangChain4j's own
 *       clients do. {@link ServerSentEventParsingHandle#cancel()} ends the stream (the HTTP/2
 *       stream is reset, an unfinished HTTP/1.1 exchange closes its connection).
 *   <li>With a parser of your own ({@link #execute(HttpRequest, ServerSentEventParser,
 *       ServerSentEventListener)} with anything but LangChain4j's default parser), it reads the
 *       body as an {@link InputStream} on a callback thread.
 * </ul>
 *
 * <p><b>Failures.</b> A failure the server provably did not process (no connection, pool timeout,
 * refused stream) is a {@link RetriableException} ({@link TimeoutException} for a timeout), which
 * LangChain4j's {@code maxRetries} retries. One it may have processed (a read timeout, a connection
 * lost after the request went out) is a {@link NonRetriableException} unless {@link
 * LlmPoolHttpClientBuilder#retryPossiblyProcessed(boolean)}. The {@link LlmPoolException} (phase,
 * origin, {@code requestMayHaveBeenProcessed()}) is the cause.
 *
 * <p>Thread-safe. The pool is never closed by this client.
 */
public final class LlmPoolHttpClient implements HttpClient {
  private static final Logger log = LoggerFactory.getLogger(LlmPoolHttpClient.class);

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

  /** The bound on an error body read into an exception. */
  private static final long MAX_ERROR_BODY = 1 << 20;

  private final LlmPool pool;
  private final Executor executor;
  private final boolean retryPossiblyProcessed;

  LlmPoolHttpClient(LlmPool pool, Executor executor, boolean retryPossiblyProcessed) {
    this.pool = pool;
    this.executor = executor;
    this.retryPossiblyProcessed = retryPossiblyProcessed;
  }

  /** A builder; see {@link LlmPoolHttpClientBuilder} for where it gets its pool. */
  public static LlmPoolHttpClientBuilder builder() {
    return new LlmPoolHttpClientBuilder();
  }

  /** The pool this client sends through. */
  public LlmPool pool() {
    return pool;
  }

  @Override
  public SuccessfulHttpResponse execute(HttpRequest request) {
    HttpResponse r;
    try {
      r = pool.send(toPool(request));
    } catch (LlmPoolException e) {
      throw translate(e);
    }
    Map<String, List<String>> headers = toMap(r.headers());
    if (!r.isSuccessful()) {
      throw new LlmPoolHttpException(r.status(), r.bodyString(), headers);
    }
    return SuccessfulHttpResponse.builder()
        .statusCode(r.status())
        .headers(headers)
        .body(r.body())
        .build();
  }

  @Override
  public void execute(HttpRequest request, ServerSentEventListener listener) {
    stream(request, null, listener);
  }

  @Override
  public void execute(
      HttpRequest request, ServerSentEventParser parser, ServerSentEventListener listener) {
    // LangChain4j's default parser is replaced by llmpool's (same rules, no blocked thread).
    stream(
        request, parser.getClass() == DefaultServerSentEventParser.class ? null : parser, listener);
  }

  private void stream(
      HttpRequest request,
      @Nullable ServerSentEventParser parser,
      ServerSentEventListener listener) {
    dev.llmpool.http.HttpRequest r;
    try {
      r = toPool(request);
    } catch (RuntimeException e) {
      quietly(() -> listener.onError(e));
      return;
    }
    var unused =
        pool.streamAsync(r)
            .whenComplete(
                (response, error) ->
                    onExecutor(
                        response,
                        () -> {
                          if (response == null) {
                            listener.onError(translate(Objects.requireNonNull(error)));
                          } else if (response.status() < 200 || response.status() > 299) {
                            failWithBody(response, listener);
                          } else if (parser != null) {
                            parseWith(parser, response, listener);
                          } else {
                            new EventStream(response, listener).start();
                          }
                        }));
  }

  /** Runs {@code task} on the executor; if it refuses, closes the response and says why. */
  private void onExecutor(@Nullable StreamingResponse response, Runnable task) {
    try {
      executor.execute(task);
    } catch (RejectedExecutionException e) {
      if (response != null) {
        response.close();
      }
      log.warn("llmpool-langchain4j: the callback executor rejected a stream: {}", e.toString());
    }
  }

  private void failWithBody(StreamingResponse response, ServerSentEventListener listener) {
    Map<String, List<String>> headers = toMap(response.headers());
    var unused =
        response
            .readAllAsync(MAX_ERROR_BODY)
            .whenComplete(
                (body, error) ->
                    onExecutor(
                        response,
                        () -> {
                          response.close();
                          String text =
                              body != null
                                  ? new String(body, StandardCharsets.UTF_8)
                                  : "(the error body could not be read: " + error + ")";
                          quietly(
                              () ->
                                  listener.onError(
                                      new LlmPoolHttpException(response.status(), text, headers)));
                        }));
  }

  private void parseWith(
      ServerSentEventParser parser, StreamingResponse response, ServerSentEventListener listener) {
    quietly(() -> listener.onOpen(opened(response)));
    try (InputStream body = response.bodyIoStream()) {
      parser.parse(body, listener);
      quietly(listener::onClose);
    } catch (IOException | RuntimeException e) {
      quietly(() -> listener.onError(e));
    } finally {
      response.close();
    }
  }

  private static SuccessfulHttpResponse opened(StreamingResponse response) {
    return SuccessfulHttpResponse.builder()
        .statusCode(response.status())
        .headers(toMap(response.headers()))
        .build();
  }

  /**
   * One SSE stream: pulls a piece (asynchronously), decodes it on the executor, delivers its
   * events, then pulls the next, so one stream's callbacks never overlap and a thread is used only
   * while a piece is being handled. Cancelled by its parsing handle.
   */
  private final class EventStream implements ServerSentEventParsingHandle {
    private final StreamingResponse response;
    private final ServerSentEventListener listener;
    private final ServerSentEventContext context = new ServerSentEventContext(this);
    private final AtomicBoolean cancelled = new AtomicBoolean();
    private final SseDecoder decoder;

    EventStream(StreamingResponse response, ServerSentEventListener listener) {
      this.response = response;
      this.listener = listener;
      this.decoder =
          new SseDecoder(
              (type, data) -> {
                if (!cancelled.get()) {
                  ServerSentEvent event =
                      new ServerSentEvent("message".equals(type) ? null : type, data);
                  quietly(() -> listener.onEvent(event, context));
                }
              });
    }

    void start() {
      quietly(() -> listener.onOpen(opened(response)));
      pull();
    }

    private void pull() {
      if (cancelled.get()) {
        return;
      }
      CompletableFuture<@Nullable ByteBuffer> next;
      try {
        next = response.nextChunkAsync();
      } catch (RuntimeException e) {
        fail(e);
        return;
      }
      var unused =
          next.whenComplete((piece, error) -> onExecutor(response, () -> handle(piece, error)));
    }

    private void handle(@Nullable ByteBuffer piece, @Nullable Throwable error) {
      if (cancelled.get()) {
        return;
      }
      if (error != null) {
        fail(error);
        return;
      }
      if (piece == null) {
        decoder.finish(); // an event no empty line closed is dropped, as the rules say
        response.close();
        quietly(listener::onClose);
        return;
      }
      try {
        decoder.feed(piece);
      } catch (RuntimeException e) {
        fail(e); // an event over the size bound
        return;
      }
      pull();
    }

    private void fail(Throwable error) {
      response.close();
      if (!cancelled.get()) {
        quietly(() -> listener.onError(translate(error)));
      }
    }

    @Override
    public void cancel() {
      if (cancelled.compareAndSet(false, true)) {
        response.close();
      }
    }

    @Override
    public boolean isCancelled() {
      return cancelled.get();
    }
  }

  /** LangChain4j's request as an llmpool request. */
  private static dev.llmpool.http.HttpRequest toPool(HttpRequest request) {
    dev.llmpool.http.HttpRequest.Builder b =
        dev.llmpool.http.HttpRequest.builder(request.method().name(), request.url());
    String contentType = null;
    Map<String, List<String>> headers = request.headers();
    if (headers != null) {
      for (Map.Entry<String, List<String>> h : headers.entrySet()) {
        String name = h.getKey();
        List<String> values = h.getValue();
        if (name == null || values == null) {
          continue;
        }
        String lower = name.toLowerCase(Locale.ROOT);
        if (lower.equals("content-type")) {
          contentType = values.isEmpty() ? null : values.get(0);
          continue;
        }
        if (MANAGED.contains(lower)) {
          continue;
        }
        for (String v : values) {
          if (v != null) {
            b.header(name, v);
          }
        }
      }
    }
    Map<String, String> fields = request.formDataFields();
    Map<String, FormDataFile> files = request.formDataFiles();
    if ((fields != null && !fields.isEmpty()) || (files != null && !files.isEmpty())) {
      String boundary = "llmpool-" + UUID.randomUUID();
      b.bodyWithoutCopy(
          multipart(boundary, fields, files), "multipart/form-data; boundary=" + boundary);
    } else if (request.body() != null) {
      // Fresh arrays nobody else holds, here and above: no second copy.
      b.bodyWithoutCopy(
          request.body().getBytes(StandardCharsets.UTF_8),
          contentType != null ? contentType : "application/json");
    }
    return b.build();
  }

  private static byte[] multipart(
      String boundary,
      @Nullable Map<String, String> fields,
      @Nullable Map<String, FormDataFile> files) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    if (fields != null) {
      for (Map.Entry<String, String> f : fields.entrySet()) {
        write(out, "--" + boundary + "\r\n");
        write(out, "Content-Disposition: form-data; name=\"" + quote(f.getKey()) + "\"\r\n\r\n");
        write(out, f.getValue() + "\r\n");
      }
    }
    if (files != null) {
      for (Map.Entry<String, FormDataFile> f : files.entrySet()) {
        FormDataFile file = f.getValue();
        write(out, "--" + boundary + "\r\n");
        write(
            out,
            "Content-Disposition: form-data; name=\""
                + quote(f.getKey())
                + "\"; filename=\""
                + quote(String.valueOf(file.fileName()))
                + "\"\r\n");
        String type = file.contentType();
        if (type != null && !type.isBlank()) {
          write(out, "Content-Type: " + type + "\r\n");
        }
        write(out, "\r\n");
        out.writeBytes(file.content());
        write(out, "\r\n");
      }
    }
    write(out, "--" + boundary + "--\r\n");
    return out.toByteArray();
  }

  private static String quote(String s) {
    return s.replace("\\", "\\\\").replace("\"", "\\\"").replace("\r", "").replace("\n", "");
  }

  private static void write(ByteArrayOutputStream out, String s) {
    out.writeBytes(s.getBytes(StandardCharsets.UTF_8));
  }

  private static Map<String, List<String>> toMap(HttpHeaders h) {
    Map<String, List<String>> m = new LinkedHashMap<>();
    for (int i = 0; i < h.size(); i++) {
      m.computeIfAbsent(h.name(i), k -> new ArrayList<>(1)).add(h.value(i));
    }
    return m;
  }

  /** llmpool's failure as LangChain4j's (see the class description). */
  RuntimeException translate(Throwable error) {
    Throwable t = error;
    while (t instanceof CompletionException && t.getCause() != null) {
      t = t.getCause();
    }
    if (t instanceof PoolClosedException e) {
      return new NonRetriableException(e.getMessage(), e);
    }
    if (t instanceof LlmPoolException e) {
      boolean retry = !e.requestMayHaveBeenProcessed() || retryPossiblyProcessed;
      if (!retry) {
        return new NonRetriableException(e.getMessage(), e);
      }
      return e instanceof LlmTimeoutException
          ? new TimeoutException(e.getMessage(), e)
          : new RetriableException(e.getMessage(), e);
    }
    if (t instanceof RuntimeException e) {
      return e;
    }
    return new RetriableException(t.getMessage(), t);
  }

  /** Calls a listener method; what it throws is logged and ignored, as LangChain4j's clients do. */
  private static void quietly(Runnable r) {
    try {
      r.run();
    } catch (RuntimeException e) {
      log.warn("an exception from a LangChain4j SSE listener was ignored", e);
    }
  }

  @Override
  public String toString() {
    return "LlmPoolHttpClient{" + pool + "}";
  }
}
