package dev.llmpool.llm.internal;

import dev.llmpool.EventListener;
import dev.llmpool.HttpProtocolException;
import dev.llmpool.LlmPoolException;
import dev.llmpool.Origin;
import dev.llmpool.TotalTimeoutException;
import dev.llmpool.llm.ApiStatusException;
import dev.llmpool.llm.ChatObservation;
import dev.llmpool.llm.ChatObserver;
import dev.llmpool.llm.ChatResponse;
import dev.llmpool.llm.RateLimits;
import dev.llmpool.llm.SseLimitExceededException;
import dev.llmpool.llm.StreamListener;
import dev.llmpool.llm.ToolCall;
import dev.llmpool.time.Scheduler;
import dev.llmpool.time.Ticker;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicReference;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One chat call: attempts, retries, pacing, the stream and the deadline, driving {@link LlmHttp}.
 *
 * <p>Threading: the call is a sequence of steps (begin an attempt, headers, body, each chunk); each
 * step is started by the completion of the one before, through {@link #exec}, so steps never run
 * concurrently and the fields marked "step-confined" need no lock (the handover through a future or
 * an executor orders them). Two things run outside the sequence: the total deadline (a scheduler
 * task) and the user cancelling the result; both only complete {@link #result}. Its completion runs
 * {@link #cleanup}, which releases whatever the attempt holds: the fields shared with it are
 * guarded by {@link #lock}. Nothing is completed, closed or called while holding the lock. Each
 * step starts by checking whether the result is already complete; so after the deadline or a
 * cancellation, at most the step in progress still runs, and a stream listener hears at most the
 * rest of the chunk in hand.
 */
final class ChatCall implements SseParser.Handler, StreamSink {
  private static final Logger log = LoggerFactory.getLogger(ChatCall.class);

  /** How much of a stream is read after its end marker, to keep the connection reusable. */
  static final int MAX_DRAIN_BYTES = 64 * 1024;

  /**
   * How long a finished answer waits for the end of its body before it goes to the caller anyway.
   * Servers end the body right after the end marker (usually in the same packet), and the HTTP
   * layer returns the connection to the pool when it reads that end; waiting for it means that a
   * call made as soon as this one returns finds the connection idle instead of opening another. A
   * server that keeps the body open after its marker costs at most this much latency.
   */
  static final long TAIL_GRACE_NANOS = 50_000_000L;

  private static final ClassValue<Boolean> WANTS_RAW_EVENTS =
      new ClassValue<>() {
        @Override
        protected Boolean computeValue(Class<?> type) {
          try {
            return type.getMethod("onEvent", String.class, String.class).getDeclaringClass()
                != StreamListener.class;
          } catch (NoSuchMethodException e) {
            return false;
          }
        }
      };

  final CompletableFuture<ChatResponse> result = new CompletableFuture<>();

  private final ChatEndpoint endpoint;
  private final LlmHttp http;
  private final ChatClientSettings settings;
  private final RetryDecider decider;
  private final Ticker ticker;
  private final Redactor redactor;
  private final Origin origin;
  private final byte[] body;
  private final List<Map.Entry<String, String>> headers;
  private final boolean streaming;
  private final @Nullable StreamListener listener;
  private final boolean rawEvents;
  private final Executor exec;
  private final EventListener.CallInfo callInfo;
  private final @Nullable String requestModel;

  private final Object lock = new Object();

  /** A finished answer held back until the body's end or {@link #TAIL_GRACE_NANOS}; one wins. */
  private final AtomicReference<@Nullable Decoded> finishedAnswer = new AtomicReference<>();

  // Guarded by lock: what the attempt in progress holds, for cleanup() to release.
  private @Nullable LlmHttpResponse current;
  private @Nullable CompletableFuture<LlmHttpResponse> sending;
  private Scheduler.@Nullable Cancellable timer;
  private final List<Throwable> earlierFailures = new ArrayList<>();

  /** The answer is complete and the rest of the body is being read so the connection is kept. */
  private boolean draining;

  // Written once in start(), before any step runs.
  private long startNanos;
  private long totalNanos;
  private long deadlineNanos;
  private Scheduler.@Nullable Cancellable totalTimer;

  // Read by the deadline task too.
  private volatile int attempts;

  // Step-confined.
  private long waitedNanos;
  private boolean paced;
  private boolean delivered;
  private long firstTokenNanos = -1;
  private long firstOutputNanos = -1;
  private long headersNanos;
  private long headersMillis;
  private RateLimits rateLimits = RateLimits.NONE;
  private @Nullable String requestId;
  private HeaderValues.Lookup responseHeaders = name -> null;
  private @Nullable SseParser parser;
  private @Nullable StreamDecoder decoder;
  private long drainedBytes;

  ChatCall(
      ChatEndpoint endpoint,
      LlmHttp http,
      ChatClientSettings settings,
      RetryDecider decider,
      Redactor redactor,
      byte[] body,
      List<Map.Entry<String, String>> headers,
      boolean streaming,
      @Nullable StreamListener listener,
      Executor exec,
      @Nullable String requestModel) {
    this.endpoint = endpoint;
    this.http = http;
    this.settings = settings;
    this.decider = decider;
    this.ticker = settings.scheduler().ticker();
    this.redactor = redactor;
    this.origin = endpoint.origin();
    this.body = body;
    this.headers = headers;
    this.streaming = streaming;
    this.listener = listener;
    this.rawEvents = listener != null && WANTS_RAW_EVENTS.get(listener.getClass());
    this.exec = exec;
    this.requestModel = requestModel;
    long id = settings.callIds().getAsLong();
    String path = endpoint.uri().getRawPath();
    this.callInfo = new LlmCallInfo(id, "POST", origin, path == null ? "/" : path);
  }

  /** Where a call is, for an {@link EventListener}: nothing secret. */
  record LlmCallInfo(long id, String method, Origin origin, String path)
      implements EventListener.CallInfo {}

  /** Starts the call; the result completes when it ends. */
  void start() {
    startNanos = ticker.nanoTime();
    totalNanos = settings.totalTimeout().toNanos();
    deadlineNanos = startNanos + totalNanos;
    totalTimer = settings.scheduler().schedule(this::onTotalTimeout, totalNanos);
    ChatObserver observer = settings.observer();
    var unused =
        result.whenComplete(
            (r, e) -> {
              cleanup(e == null);
              if (observer != null) {
                observe(observer, r, e);
              }
            });
    step(this::beginAttempt);
  }

  private void step(Runnable body) {
    exec.execute(
        () -> {
          try {
            body.run();
          } catch (RuntimeException | Error e) {
            // A defect, not a server's doing: end the call with it rather than hang.
            log.warn("chat call to {} failed inside llmpool", origin, e);
            fail(e);
          }
        });
  }

  private void scheduleStep(Runnable body, long delayNanos) {
    Scheduler.Cancellable c = settings.scheduler().schedule(() -> step(body), delayNanos);
    boolean cancel;
    synchronized (lock) {
      cancel = result.isDone();
      if (!cancel) {
        timer = c;
      }
    }
    if (cancel) {
      c.cancel();
    }
  }

  // ---- attempts ----

  private void beginAttempt() {
    if (result.isDone()) {
      return;
    }
    if (!paced) {
      long waitMillis = settings.pacer().delayMillis(ticker.currentTimeMillis());
      if (waitMillis > 0) {
        long capMillis =
            Math.min(
                settings.pacer().pacing().maxWait().toMillis(),
                (deadlineNanos - ticker.nanoTime()) / 1_000_000L);
        // Pacing only delays: a reset further away than the cap is left to the server.
        if (waitMillis < capMillis) {
          paced = true;
          log.debug(
              "pacing a call to {}: waiting {} ms for the rate-limit reset", origin, waitMillis);
          scheduleStep(this::send, waitMillis * 1_000_000L);
          return;
        }
      }
    }
    send();
  }

  private void send() {
    if (result.isDone()) {
      return;
    }
    int attempt = attempts + 1;
    attempts = attempt;
    settings.pacer().onSend();
    LlmHttpRequest request =
        new LlmHttpRequest(endpoint.uri(), headers, body, streaming, deadlineNanos, attempt);
    CompletableFuture<LlmHttpResponse> f;
    try {
      f = http.send(request);
    } catch (RuntimeException e) {
      f = CompletableFuture.failedFuture(e);
    }
    boolean cancel;
    synchronized (lock) {
      cancel = result.isDone();
      if (!cancel) {
        sending = f;
      }
    }
    if (cancel) {
      f.cancel(false);
    }
    CompletableFuture<LlmHttpResponse> sent = f;
    var unused = f.whenComplete((resp, err) -> step(() -> onHeaders(sent, resp, err)));
  }

  private void onHeaders(
      CompletableFuture<LlmHttpResponse> sent,
      @Nullable LlmHttpResponse resp,
      @Nullable Throwable err) {
    boolean closeNow = false;
    synchronized (lock) {
      if (sending == sent) {
        sending = null;
      }
      if (resp != null) {
        if (result.isDone()) {
          closeNow = true;
        } else {
          current = resp;
        }
      }
    }
    if (closeNow) {
      closeQuietly(resp);
      return;
    }
    if (result.isDone()) {
      return;
    }
    if (err != null || resp == null) {
      attemptFailed(err == null ? new IllegalStateException("no response") : unwrap(err));
      return;
    }
    headersNanos = ticker.nanoTime();
    headersMillis = ticker.currentTimeMillis();
    HeaderValues.Lookup h = resp::header;
    responseHeaders = h;
    int status = resp.status();
    RateLimits limits = HeaderValues.rateLimits(h, headersMillis);
    settings.pacer().update(limits);
    if (status >= 200 && status < 300) {
      rateLimits = limits;
      requestId = HeaderValues.requestId(h);
      String type = resp.header("content-type");
      if (streaming && (type == null || type.toLowerCase(Locale.ROOT).contains("event-stream"))) {
        startStream(resp);
      } else {
        readBody(resp, status, true);
      }
    } else {
      readBody(resp, status, false);
    }
  }

  private void readBody(LlmHttpResponse resp, int status, boolean ok) {
    CompletableFuture<byte[]> f;
    try {
      f = resp.body(ok ? settings.maxResponseBytes() : settings.maxErrorBytes());
    } catch (RuntimeException e) {
      f = CompletableFuture.failedFuture(e);
    }
    var unused = f.whenComplete((bytes, err) -> step(() -> onBody(resp, status, ok, bytes, err)));
  }

  private void onBody(
      LlmHttpResponse resp,
      int status,
      boolean ok,
      byte @Nullable [] bytes,
      @Nullable Throwable err) {
    if (result.isDone()) {
      return;
    }
    if (!ok) {
      ApiStatusException e =
          ApiErrors.fromResponse(
              origin,
              status,
              resp::header,
              err == null && bytes != null ? bytes : new byte[0],
              redactor,
              headersMillis);
      if (err != null) {
        e.addSuppressed(unwrap(err));
      }
      attemptFailed(e);
      return;
    }
    if (err != null || bytes == null) {
      attemptFailed(err == null ? new IllegalStateException("no body") : unwrap(err));
      return;
    }
    Decoded d;
    try {
      String type = resp.header("content-type");
      d =
          type != null && type.toLowerCase(Locale.ROOT).contains("event-stream")
              ? decodeWholeStream(bytes)
              : endpoint.codec().decode(bytes);
    } catch (SseLimitExceededException e) {
      attemptFailed(e);
      return;
    } catch (ProviderErrorEvent e) {
      attemptFailed(ApiErrors.fromEvent(origin, e, responseHeaders, redactor, headersMillis));
      return;
    } catch (IOException | RuntimeException e) {
      attemptFailed(notTheApi(e, bytes));
      return;
    }
    if (streaming) {
      // The server answered a stream request with a whole JSON answer: hand it over in one piece.
      try {
        if (!d.text().isEmpty()) {
          text(d.text());
        }
        for (ToolCall c : d.toolCalls()) {
          toolCall(c);
        }
      } catch (ListenerFailure e) {
        fail(e.getCause() == null ? e : e.getCause());
        return;
      } catch (CallEnded e) {
        return;
      }
    }
    succeed(d, false);
  }

  /**
   * A whole body that is an event stream: the server streamed although no stream was asked for
   * (e.g. {@code "stream": true} set through the options' extra fields). Nothing reaches a
   * listener.
   */
  private Decoded decodeWholeStream(byte[] bytes) throws IOException {
    StreamDecoder d = endpoint.codec().newStreamDecoder();
    StreamSink none =
        new StreamSink() {
          @Override
          public void text(String text) {}

          @Override
          public void reasoning(String text) {}

          @Override
          public void toolCall(ToolCall call) {}
        };
    SseParser p =
        new SseParser(
            e -> {
              try {
                d.onEvent(e, none);
              } catch (IOException x) {
                throw new BadEvent(x);
              }
            },
            settings.maxEventBytes(),
            origin);
    try {
      p.feed(bytes, 0, bytes.length);
    } catch (BadEvent e) {
      throw e.io;
    }
    boolean cut = p.finish();
    if (!d.finished() && (cut || !d.completeWithoutEndMarker())) {
      throw new IOException("the event stream ended before its end marker");
    }
    return d.finish(none);
  }

  private HttpProtocolException notTheApi(Exception e, byte[] bytes) {
    String why =
        e instanceof com.fasterxml.jackson.core.JsonProcessingException j
            ? Json.describe(j)
            : String.valueOf(e.getMessage());
    String excerpt = new String(bytes, 0, Math.min(bytes.length, 120), StandardCharsets.UTF_8);
    excerpt = redactor.redact(excerpt).replaceAll("[\\p{Cntrl}]", " ").strip();
    return new HttpProtocolException(
        origin,
        "the 2xx response is not a valid "
            + endpoint.codec().name()
            + " answer: "
            + redactor.redact(why)
            + (excerpt.isEmpty() ? "" : " (body starts: \"" + excerpt + "\")"),
        true,
        e);
  }

  // ---- streams ----

  private void startStream(LlmHttpResponse resp) {
    parser = new SseParser(this, settings.maxEventBytes(), origin);
    decoder = endpoint.codec().newStreamDecoder();
    pull(resp);
  }

  /** Reads chunks until one is not there yet; then continues when it arrives (no recursion). */
  private void pull(LlmHttpResponse resp) {
    while (true) {
      if (!isDraining() && result.isDone()) {
        return;
      }
      CompletableFuture<@Nullable ByteBuffer> f;
      try {
        f = resp.nextChunk();
      } catch (RuntimeException e) {
        f = CompletableFuture.failedFuture(e);
      }
      if (!f.isDone()) {
        if (finishedAnswer.get() != null) {
          // The answer waits a little for the body's end; the tail is read in the background.
          scheduleDelivery();
        }
        var unused =
            f.whenComplete(
                (chunk, err) ->
                    step(
                        () -> {
                          if (onChunk(resp, chunk, err)) {
                            pull(resp);
                          } else {
                            deliverFinished();
                          }
                        }));
        return;
      }
      ByteBuffer chunk = null;
      Throwable err = null;
      try {
        chunk = f.join();
      } catch (CompletionException | java.util.concurrent.CancellationException e) {
        err = e;
      }
      if (!onChunk(resp, chunk, err)) {
        deliverFinished();
        return;
      }
    }
  }

  /**
   * Hands a finished answer held back by {@link #answerFinished} to the caller. By then the body's
   * end has usually been read too and the connection is back in the pool, so a next call made as
   * soon as this one returns finds it there (HTTP/1.1 keeps one exchange per connection).
   */
  private void deliverFinished() {
    Decoded d = finishedAnswer.getAndSet(null);
    if (d != null) {
      succeed(d, isDraining());
    }
  }

  /**
   * Delivers the finished answer after {@link #TAIL_GRACE_NANOS} unless the body's end comes first.
   * The timer runs outside the step sequence: it reads only what the steps wrote before they
   * scheduled it (ordered by the scheduler), and {@link #finishedAnswer} makes one delivery win.
   */
  private void scheduleDelivery() {
    Scheduler.Cancellable c =
        settings.scheduler().schedule(this::deliverFinished, TAIL_GRACE_NANOS);
    boolean cancel;
    Scheduler.Cancellable old = null;
    synchronized (lock) {
      cancel = result.isDone();
      if (!cancel) {
        old = timer; // a retry's or pacing's timer, which has run by now
        timer = c;
      }
    }
    if (old != null) {
      old.cancel();
    }
    if (cancel) {
      c.cancel();
    }
  }

  /**
   * The stream's end marker arrived: the answer is complete. It is held back while the rest of the
   * body (normally just its end) is read from what has already arrived, so that the connection is
   * released before the caller sees the answer; reading never waits for it (see {@link #pull}).
   */
  private void answerFinished(Decoded d) {
    finishedAnswer.set(d);
    synchronized (lock) {
      draining = true;
    }
  }

  private boolean isDraining() {
    synchronized (lock) {
      return draining;
    }
  }

  /** One chunk, or the end (null), or a failure; true to read on. */
  private boolean onChunk(
      LlmHttpResponse resp, @Nullable ByteBuffer chunk, @Nullable Throwable err) {
    if (isDraining()) {
      return drain(resp, chunk, err);
    }
    if (result.isDone()) {
      return false;
    }
    SseParser p = parser;
    StreamDecoder d = decoder;
    if (p == null || d == null) {
      throw new IllegalStateException("no stream in progress");
    }
    if (err != null) {
      attemptFailed(unwrap(err));
      return false;
    }
    if (chunk == null) {
      streamEnded(p, d);
      return false;
    }
    try {
      p.feed(chunk);
      if (d.finished()) {
        answerFinished(d.finish(this));
        return true; // read the rest (normally just the body's end) so the connection is kept
      }
      return true;
    } catch (ListenerFailure e) {
      fail(e.getCause() == null ? e : e.getCause());
    } catch (CallEnded e) {
      // the deadline or a cancellation ended the call while the chunk was being read
    } catch (ProviderErrorEvent e) {
      attemptFailed(ApiErrors.fromEvent(origin, e, responseHeaders, redactor, headersMillis));
    } catch (BadEvent e) {
      attemptFailed(
          new HttpProtocolException(
              origin,
              "a stream event is not what the "
                  + endpoint.codec().name()
                  + " API sends: "
                  + redactor.redact(String.valueOf(e.io.getMessage())),
              true,
              e.io));
    } catch (SseLimitExceededException e) {
      attemptFailed(e);
    }
    return false;
  }

  private void streamEnded(SseParser p, StreamDecoder d) {
    boolean cutInsideEvent = p.finish();
    try {
      if (!cutInsideEvent && d.completeWithoutEndMarker()) {
        succeed(d.finish(this), false);
        return;
      }
    } catch (ListenerFailure e) {
      fail(e.getCause() == null ? e : e.getCause());
      return;
    } catch (CallEnded e) {
      return;
    }
    String marker = endpoint.codec() instanceof AnthropicCodec ? "message_stop" : "data: [DONE]";
    attemptFailed(
        new HttpProtocolException(
            origin,
            "the stream ended before its end marker ("
                + marker
                + ")"
                + (cutInsideEvent ? ", inside an event" : ""),
            true,
            null));
  }

  private boolean drain(LlmHttpResponse resp, @Nullable ByteBuffer chunk, @Nullable Throwable err) {
    if (err != null || chunk == null) {
      stopDraining(resp);
      return false;
    }
    drainedBytes += chunk.remaining();
    if (drainedBytes > MAX_DRAIN_BYTES) {
      stopDraining(resp);
      return false;
    }
    return true;
  }

  private void stopDraining(LlmHttpResponse resp) {
    synchronized (lock) {
      draining = false;
      if (current == resp) {
        current = null;
      }
    }
    closeQuietly(resp);
  }

  @Override
  public void onEvent(SseEvent event) {
    StreamListener l = listener;
    if (rawEvents && l != null) {
      ensureRunning();
      try {
        l.onEvent(event.type(), event.data());
      } catch (RuntimeException | Error e) {
        throw new ListenerFailure(e);
      }
    }
    StreamDecoder d = decoder;
    if (d == null) {
      throw new IllegalStateException("no stream in progress");
    }
    try {
      d.onEvent(event, this);
    } catch (IOException e) {
      throw new BadEvent(e);
    }
  }

  private void ensureRunning() {
    if (result.isDone()) {
      throw new CallEnded();
    }
  }

  private void firstText() {
    firstOutput();
    if (firstTokenNanos < 0) {
      firstTokenNanos = firstOutputNanos;
    }
  }

  private void firstOutput() {
    delivered = true;
    if (firstOutputNanos < 0) {
      firstOutputNanos = ticker.nanoTime();
    }
  }

  @Override
  public void text(String text) {
    StreamListener l = listener;
    if (l == null) {
      return;
    }
    ensureRunning();
    firstText();
    try {
      l.onText(text);
    } catch (RuntimeException | Error e) {
      throw new ListenerFailure(e);
    }
  }

  @Override
  public void reasoning(String text) {
    StreamListener l = listener;
    if (l == null) {
      return;
    }
    ensureRunning();
    firstOutput();
    try {
      l.onReasoning(text);
    } catch (RuntimeException | Error e) {
      throw new ListenerFailure(e);
    }
  }

  @Override
  public void toolCall(ToolCall call) {
    StreamListener l = listener;
    if (l == null) {
      return;
    }
    ensureRunning();
    firstOutput();
    try {
      l.onToolCall(call);
    } catch (RuntimeException | Error e) {
      throw new ListenerFailure(e);
    }
  }

  // ---- endings ----

  private void succeed(Decoded d, boolean drainAfter) {
    long now = ticker.nanoTime();
    ChatResponse r =
        new ChatResponse(
            d.text(),
            d.toolCalls(),
            d.id(),
            d.model(),
            d.finishReason(),
            d.usage(),
            rateLimits,
            requestId,
            Duration.ofNanos(now - startNanos),
            Duration.ofNanos(headersNanos - startNanos),
            streaming && firstTokenNanos >= 0
                ? Duration.ofNanos(firstTokenNanos - startNanos)
                : null,
            attempts,
            d.rawJson());
    if (drainAfter) {
      synchronized (lock) {
        draining = true;
      }
    }
    if (!result.complete(r) && drainAfter) {
      // The deadline or a cancellation came first; cleanup has released the response.
      synchronized (lock) {
        draining = false;
      }
    }
  }

  private void attemptFailed(Throwable failure) {
    closeCurrent();
    if (result.isDone()) {
      return;
    }
    if (!(failure instanceof LlmPoolException)) {
      fail(failure);
      return;
    }
    long now = ticker.nanoTime();
    RetryDecider.Decision decision =
        decider.decide(failure, attempts, delivered, now - startNanos, totalNanos, waitedNanos);
    if (!decision.retry()) {
      if (log.isDebugEnabled()) {
        log.debug(
            "chat call to {} failed after {} attempt(s), not retried: {}",
            origin,
            attempts,
            decision.reason());
      }
      fail(failure);
      return;
    }
    synchronized (lock) {
      earlierFailures.add(failure);
    }
    waitedNanos += decision.delayNanos();
    Duration delay = Duration.ofNanos(decision.delayNanos());
    log.debug(
        "retrying chat call to {} in {} ms (attempt {}): {}",
        origin,
        delay.toMillis(),
        attempts + 1,
        decision.reason());
    try {
      settings.eventListener().retry(callInfo, decision.reason(), delay, attempts + 1);
    } catch (RuntimeException e) {
      log.warn("event listener threw in retry(); ignored", e);
    }
    paced = false;
    scheduleStep(this::beginAttempt, decision.delayNanos());
  }

  private void fail(Throwable failure) {
    List<Throwable> earlier;
    synchronized (lock) {
      earlier = new ArrayList<>(earlierFailures);
      earlierFailures.clear();
    }
    for (Throwable t : earlier) {
      if (t != failure) {
        failure.addSuppressed(t);
      }
    }
    result.completeExceptionally(failure);
  }

  private void onTotalTimeout() {
    if (result.isDone()) {
      return;
    }
    int n = attempts;
    fail(
        new TotalTimeoutException(
            origin,
            "the chat call did not finish within timeouts.total ("
                + settings.totalTimeout().toMillis()
                + " ms, "
                + n
                + (n == 1 ? " attempt)" : " attempts)"),
            settings.totalTimeout(),
            n > 0,
            null));
  }

  /**
   * Tells the observer how the call ended; runs once, when the result completes, on whichever
   * thread completed it. Reads the step-confined first-output time without a lock: a stale value
   * (the deadline ending the call while a chunk is in hand) only makes the figure absent.
   */
  private void observe(
      ChatObserver observer, @Nullable ChatResponse response, @Nullable Throwable failure) {
    Throwable error = failure == null ? null : unwrap(failure);
    long now = ticker.nanoTime();
    long first = firstOutputNanos;
    RateLimits limits =
        response != null
            ? response.rateLimits()
            : error instanceof ApiStatusException api ? api.rateLimits() : RateLimits.NONE;
    ChatObservation o =
        new ChatObservation(
            endpoint.codec().name(),
            ChatObservation.CHAT,
            origin,
            streaming,
            requestModel,
            response == null ? null : response.model(),
            response == null ? null : response.usage(),
            response != null ? response.latency() : Duration.ofNanos(now - startNanos),
            streaming && first >= 0 ? Duration.ofNanos(first - startNanos) : null,
            attempts,
            error == null ? null : error.getClass().getSimpleName(),
            error,
            response == null ? null : response.finishReason(),
            limits);
    try {
      observer.chatEnded(o);
    } catch (RuntimeException e) {
      log.warn("chat observer threw; ignored", e);
    }
  }

  /** Runs once the result is complete, on whichever thread completed it. */
  private void cleanup(boolean success) {
    LlmHttpResponse r;
    CompletableFuture<LlmHttpResponse> f;
    Scheduler.Cancellable t;
    synchronized (lock) {
      boolean keep = success && draining;
      r = keep ? null : current;
      if (!keep) {
        current = null;
      }
      f = sending;
      sending = null;
      t = timer;
      timer = null;
    }
    Scheduler.Cancellable total = totalTimer;
    if (total != null) {
      total.cancel();
    }
    if (t != null) {
      t.cancel();
    }
    if (f != null) {
      f.cancel(false);
    }
    closeQuietly(r);
  }

  private void closeCurrent() {
    LlmHttpResponse r;
    synchronized (lock) {
      r = current;
      current = null;
    }
    closeQuietly(r);
  }

  private static void closeQuietly(@Nullable LlmHttpResponse r) {
    if (r == null) {
      return;
    }
    try {
      r.close();
    } catch (RuntimeException e) {
      log.debug("closing a response failed", e);
    }
  }

  static Throwable unwrap(Throwable t) {
    Throwable x = t;
    while ((x instanceof CompletionException || x instanceof ExecutionException)
        && x.getCause() != null) {
      x = x.getCause();
    }
    return x;
  }

  /** A stream listener threw: the call ends with its exception, unchanged. */
  private static final class ListenerFailure extends RuntimeException {
    private static final long serialVersionUID = 1L;

    ListenerFailure(Throwable cause) {
      super(null, cause, false, false);
    }
  }

  /** The call ended (deadline, cancellation) while a chunk was being handled. */
  private static final class CallEnded extends RuntimeException {
    private static final long serialVersionUID = 1L;

    CallEnded() {
      super(null, null, false, false);
    }
  }

  /** A stream event whose data is not the API's JSON. */
  private static final class BadEvent extends RuntimeException {
    private static final long serialVersionUID = 1L;

    final transient IOException io;

    BadEvent(IOException cause) {
      super(null, cause, false, false);
      this.io = cause;
    }
  }
}
