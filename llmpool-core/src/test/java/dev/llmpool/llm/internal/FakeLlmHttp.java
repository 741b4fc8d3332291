package dev.llmpool.llm.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llmpool.ConnectionLostException;
import dev.llmpool.LlmPoolException;
import dev.llmpool.Origin;
import dev.llmpool.Phase;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;

/**
 * An in-memory {@link LlmHttp}: replays scripted responses (recorded provider bodies and streams)
 * in order and records every request. Each scripted response tracks whether it was released (read
 * to its end or closed), for the leak check every test ends with.
 */
final class FakeLlmHttp implements LlmHttp {
  final List<LlmHttpRequest> requests = new CopyOnWriteArrayList<>();
  final List<FakeResponse> responses = new CopyOnWriteArrayList<>();
  private final Deque<Function<LlmHttpRequest, CompletableFuture<LlmHttpResponse>>> script =
      new ArrayDeque<>();

  /** Runs on every send, before the response is handed out (e.g. to move a manual clock). */
  volatile Runnable onSend = () -> {};

  /** The next request gets {@code response}. */
  synchronized FakeLlmHttp then(FakeResponse response) {
    script.add(
        req -> {
          responses.add(response);
          return CompletableFuture.completedFuture(response);
        });
    return this;
  }

  /** The next request fails with {@code failure} before any response. */
  synchronized FakeLlmHttp thenFail(LlmPoolException failure) {
    script.add(req -> CompletableFuture.failedFuture(failure));
    return this;
  }

  /** The next request waits for {@code pending}, which the test completes (or never). */
  synchronized FakeLlmHttp thenPending(CompletableFuture<LlmHttpResponse> pending) {
    script.add(req -> pending);
    return this;
  }

  @Override
  public CompletableFuture<LlmHttpResponse> send(LlmHttpRequest request) {
    requests.add(request);
    onSend.run();
    Function<LlmHttpRequest, CompletableFuture<LlmHttpResponse>> next;
    synchronized (this) {
      next = script.poll();
    }
    if (next == null) {
      return CompletableFuture.failedFuture(new AssertionError("unexpected request " + request));
    }
    return next.apply(request);
  }

  /** The leak check: every response handed out was read to its end or closed. */
  void assertAllReleased() {
    for (FakeResponse r : responses) {
      assertThat(r.released()).as("response %s released", r).isTrue();
    }
  }

  /** A scripted response. Thread-safe. */
  static final class FakeResponse implements LlmHttpResponse {
    private final int status;
    private final Map<String, String> headers = new LinkedHashMap<>();
    private final Deque<Object> chunks = new ArrayDeque<>(); // byte[], END, or a Throwable
    private final boolean manual;
    private @Nullable CompletableFuture<@Nullable ByteBuffer> waiting;
    private boolean ended;
    private boolean closed;

    /** Runs whenever the client reads the body (e.g. to move a manual clock). */
    volatile Runnable onRead = () -> {};

    private static final Object END = new Object();

    private FakeResponse(int status, boolean manual) {
      this.status = status;
      this.manual = manual;
    }

    /** A whole JSON body. */
    static FakeResponse json(int status, String body) {
      FakeResponse r = new FakeResponse(status, false);
      r.header("content-type", "application/json");
      r.chunks.add(body.getBytes(StandardCharsets.UTF_8));
      r.chunks.add(END);
      return r;
    }

    /** An SSE stream cut into chunks of {@code chunkSize} bytes, then its end. */
    static FakeResponse sse(byte[] stream, int chunkSize) {
      FakeResponse r = new FakeResponse(200, false);
      r.header("content-type", "text/event-stream; charset=utf-8");
      for (int i = 0; i < stream.length; i += chunkSize) {
        byte[] c = new byte[Math.min(chunkSize, stream.length - i)];
        System.arraycopy(stream, i, c, 0, c.length);
        r.chunks.add(c);
      }
      r.chunks.add(END);
      return r;
    }

    /** A stream whose chunks the test pushes, from any thread. */
    static FakeResponse manualSse() {
      FakeResponse r = new FakeResponse(200, true);
      r.header("content-type", "text/event-stream");
      return r;
    }

    /** A body of any content type. */
    static FakeResponse raw(int status, String contentType, String body) {
      FakeResponse r = new FakeResponse(status, false);
      r.header("content-type", contentType);
      r.chunks.add(body.getBytes(StandardCharsets.UTF_8));
      r.chunks.add(END);
      return r;
    }

    FakeResponse onRead(Runnable r) {
      this.onRead = r;
      return this;
    }

    FakeResponse header(String name, String value) {
      headers.put(name.toLowerCase(Locale.ROOT), value);
      return this;
    }

    /** Replaces the scripted end of the body with a failure (e.g. the connection lost). */
    synchronized FakeResponse failingAtEnd(LlmPoolException failure) {
      chunks.removeLastOccurrence(END);
      chunks.add(failure);
      return this;
    }

    /** Replaces the scripted end with nothing: the body stalls. */
    synchronized FakeResponse stallingAtEnd() {
      chunks.removeLastOccurrence(END);
      return this;
    }

    void push(String text) {
      push((Object) text.getBytes(StandardCharsets.UTF_8));
    }

    void end() {
      push(END);
    }

    void fail(Throwable t) {
      push((Object) t);
    }

    private void push(Object item) {
      CompletableFuture<@Nullable ByteBuffer> w;
      synchronized (this) {
        w = waiting;
        waiting = null;
        if (w == null) {
          chunks.add(item);
          return;
        }
      }
      complete(w, item);
    }

    private void complete(CompletableFuture<@Nullable ByteBuffer> f, Object item) {
      if (item == END) {
        synchronized (this) {
          ended = true;
        }
        f.complete(null);
      } else if (item instanceof Throwable t) {
        f.completeExceptionally(t);
      } else {
        f.complete(ByteBuffer.wrap((byte[]) item));
      }
    }

    @Override
    public Origin origin() {
      return Origin.of("https://api.example.com");
    }

    @Override
    public int status() {
      return status;
    }

    @Override
    public @Nullable String header(String lowerCaseName) {
      return headers.get(lowerCaseName);
    }

    @Override
    public CompletableFuture<byte[]> body(int maxBytes) {
      onRead.run();
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      List<Object> items;
      synchronized (this) {
        items = new ArrayList<>(chunks);
        chunks.clear();
      }
      for (Object item : items) {
        if (item == END) {
          synchronized (this) {
            ended = true;
          }
          byte[] b = out.toByteArray();
          if (b.length > maxBytes) {
            return CompletableFuture.failedFuture(
                new dev.llmpool.HttpProtocolException(origin(), "body too large", true, null));
          }
          return CompletableFuture.completedFuture(b);
        }
        if (item instanceof Throwable t) {
          return CompletableFuture.failedFuture(t);
        }
        out.writeBytes((byte[]) item);
      }
      CompletableFuture<byte[]> stalled = new CompletableFuture<>();
      synchronized (this) {
        if (closed) {
          stalled.completeExceptionally(lost());
        }
      }
      return stalled;
    }

    @Override
    public CompletableFuture<@Nullable ByteBuffer> nextChunk() {
      onRead.run();
      CompletableFuture<@Nullable ByteBuffer> f = new CompletableFuture<>();
      Object item;
      synchronized (this) {
        if (closed) {
          f.completeExceptionally(lost());
          return f;
        }
        if (waiting != null) {
          throw new AssertionError("nextChunk called while a chunk is pending");
        }
        item = chunks.poll();
        if (item == null) {
          waiting = f;
          return f;
        }
      }
      complete(f, item);
      return f;
    }

    @Override
    public void close() {
      CompletableFuture<@Nullable ByteBuffer> w;
      synchronized (this) {
        closed = true;
        w = waiting;
        waiting = null;
      }
      if (w != null) {
        w.completeExceptionally(lost());
      }
    }

    private ConnectionLostException lost() {
      return new ConnectionLostException(Phase.READ, origin(), "response closed", true, null);
    }

    synchronized boolean released() {
      return closed || ended;
    }

    synchronized boolean closed() {
      return closed;
    }

    synchronized boolean ended() {
      return ended;
    }

    boolean manual() {
      return manual;
    }

    @Override
    public synchronized String toString() {
      return "FakeResponse{" + status + ", closed=" + closed + ", ended=" + ended + "}";
    }
  }
}
