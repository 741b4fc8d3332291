package dev.llmpool.http.internal;

import dev.llmpool.LlmPoolException;
import dev.llmpool.Phase;
import dev.llmpool.ResponseTooLargeException;
import dev.llmpool.http.HttpHeaders;
import dev.llmpool.http.HttpVersion;
import dev.llmpool.http.StreamingResponse;
import dev.llmpool.transport.NettyTransport;
import io.netty.buffer.ByteBuf;
import java.io.InputStream;
import java.lang.ref.Reference;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Flow;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.BiConsumer;
import org.jspecify.annotations.Nullable;

/**
 * A streamed response body: a queue of received buffers between the event loop (producer) and the
 * reader (consumer). The queue is bounded by the transport, not here: the reader's {@link
 * RealCall#ack acknowledgements} return HTTP/2 window or resume HTTP/1.1 reads, so at most a window
 * (or the read-ahead limit) is ever queued.
 *
 * <p>Threading: producer methods ({@link #offer}, {@link #complete}, {@link #fail}) run on the
 * event loop; readers on any thread. State is guarded by {@link #lock}, a {@link ReentrantLock}
 * rather than a monitor so that a virtual thread blocked in {@link #read} does not pin its carrier.
 * Callbacks to a subscriber and acknowledgements happen outside the lock.
 */
final class StreamBody implements StreamingResponse {
  private static final int NONE = 0;
  private static final int BLOCKING = 1;
  private static final int PUBLISHER = 2;

  private final RealCall call;
  private final HttpEngine engine;
  private final int status;
  private final HttpHeaders headers;
  private final HttpVersion version;

  private final ReentrantLock lock = new ReentrantLock();
  private final Condition changed = lock.newCondition();

  // Guarded by lock.
  private final ArrayDeque<ByteBuf> queue = new ArrayDeque<>();
  private boolean ended;
  private @Nullable LlmPoolException failure;
  private boolean closed;
  private int mode = NONE;
  private Flow.@Nullable Subscriber<? super ByteBuffer> subscriber;
  private long demand;
  private boolean terminalSent;
  private @Nullable CompletableFuture<@Nullable ByteBuffer> pendingPull;

  /** The caller's handle while a subscriber consumes the body (keeps it reachable). */
  @SuppressWarnings({"unused", "FieldCanBeLocal"})
  private @Nullable Object subscribedOwner;

  private final AtomicInteger drainWip = new AtomicInteger();

  StreamBody(
      RealCall call, HttpEngine engine, int status, HttpHeaders headers, HttpVersion version) {
    this.call = call;
    this.engine = engine;
    this.status = status;
    this.headers = headers;
    this.version = version;
  }

  @Override
  public int status() {
    return status;
  }

  @Override
  public HttpHeaders headers() {
    return headers;
  }

  @Override
  public HttpVersion version() {
    return version;
  }

  // ---- Producer (event loop) ----

  void offer(ByteBuf data) {
    boolean async;
    CompletableFuture<@Nullable ByteBuffer> pull = null;
    ByteBuffer item = null;
    lock.lock();
    try {
      if (closed) {
        data.release();
        return;
      }
      if (pendingPull != null && queue.isEmpty()) {
        pull = pendingPull;
        pendingPull = null;
        item = copyOut(data);
      } else {
        queue.add(data);
        changed.signalAll();
      }
      async = mode == PUBLISHER;
    } finally {
      lock.unlock();
    }
    if (pull != null && item != null) {
      call.ack(item.remaining());
      pull.complete(item);
    }
    if (async) {
      drain();
    }
  }

  /** The buffer's bytes in a heap buffer of their own; releases the buffer. */
  private static ByteBuffer copyOut(ByteBuf b) {
    byte[] copy = new byte[b.readableBytes()];
    b.readBytes(copy);
    b.release();
    return ByteBuffer.wrap(copy);
  }

  void complete() {
    boolean async;
    CompletableFuture<@Nullable ByteBuffer> pull;
    lock.lock();
    try {
      ended = true;
      changed.signalAll();
      async = mode == PUBLISHER;
      pull = pendingPull;
      pendingPull = null;
    } finally {
      lock.unlock();
    }
    if (pull != null) {
      pull.complete(null);
    }
    if (async) {
      drain();
    }
  }

  void fail(LlmPoolException e) {
    boolean async;
    CompletableFuture<@Nullable ByteBuffer> pull;
    lock.lock();
    try {
      if (closed || ended) {
        return;
      }
      failure = e;
      changed.signalAll();
      async = mode == PUBLISHER;
      pull = pendingPull;
      pendingPull = null;
    } finally {
      lock.unlock();
    }
    if (pull != null) {
      pull.completeExceptionally(e);
    }
    if (async) {
      drain();
    }
  }

  // ---- Asynchronous pulls ----

  /**
   * {@link #nextChunkAsync()} for the caller's handle {@code owner}, kept reachable while the pull
   * is pending: a caller waiting on the pull is still using the response.
   */
  CompletableFuture<@Nullable ByteBuffer> nextChunkAsync(Object owner) {
    CompletableFuture<@Nullable ByteBuffer> f = nextChunkAsync();
    if (!f.isDone()) {
      // The pending future is held by this body; its dependent holds the owner until it completes.
      var unused = f.whenComplete(new Pin(owner));
    }
    return f;
  }

  /** A stage's action that only holds {@code owner}: strongly reachable while it is pending. */
  private record Pin(Object owner) implements BiConsumer<Object, Object> {
    @Override
    public void accept(Object value, Object error) {}
  }

  @Override
  public CompletableFuture<@Nullable ByteBuffer> nextChunkAsync() {
    CompletableFuture<@Nullable ByteBuffer> f = new CompletableFuture<>();
    ByteBuffer item = null;
    Throwable error = null;
    boolean end = false;
    lock.lock();
    try {
      claim(BLOCKING);
      if (pendingPull != null) {
        throw new IllegalStateException("the previous nextChunkAsync() has not completed yet");
      }
      ByteBuf b = queue.poll();
      if (closed) {
        error = new IllegalStateException("the response was closed");
      } else if (b != null) {
        item = copyOut(b);
      } else if (failure != null) {
        error = failure;
      } else if (ended) {
        end = true;
      } else {
        pendingPull = f;
        return f;
      }
    } finally {
      lock.unlock();
    }
    if (item != null) {
      call.ack(item.remaining());
      f.complete(item);
    } else if (error != null) {
      f.completeExceptionally(error);
    } else if (end) {
      f.complete(null);
    }
    return f;
  }

  @Override
  public CompletableFuture<byte[]> readAllAsync(long maxBytes) {
    return readAllAsync(maxBytes, this);
  }

  /** {@link #readAllAsync(long)}, keeping the caller's handle {@code owner} reachable meanwhile. */
  CompletableFuture<byte[]> readAllAsync(long maxBytes, Object owner) {
    CompletableFuture<byte[]> result = new CompletableFuture<>();
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
    pullInto(out, maxBytes, result, owner);
    return result;
  }

  private void pullInto(
      java.io.ByteArrayOutputStream out,
      long maxBytes,
      CompletableFuture<byte[]> result,
      Object owner) {
    var unused =
        nextChunkAsync(owner)
            .whenComplete(
                (chunk, error) -> {
                  try {
                    readAllStep(out, maxBytes, result, owner, chunk, error);
                  } finally {
                    Reference.reachabilityFence(owner); // until the next pull pins it
                  }
                });
  }

  private void readAllStep(
      java.io.ByteArrayOutputStream out,
      long maxBytes,
      CompletableFuture<byte[]> result,
      Object owner,
      @Nullable ByteBuffer chunk,
      @Nullable Throwable error) {
    if (error != null) {
      result.completeExceptionally(error);
    } else if (chunk == null) {
      result.complete(out.toByteArray());
    } else if (out.size() + (long) chunk.remaining() > maxBytes) {
      close();
      result.completeExceptionally(
          new ResponseTooLargeException(
              call.origin(), "response body exceeds " + maxBytes + " bytes", maxBytes, null));
    } else {
      out.write(chunk.array(), chunk.arrayOffset() + chunk.position(), chunk.remaining());
      pullInto(out, maxBytes, result, owner);
    }
  }

  // ---- Blocking reads ----

  @Override
  public int read(byte[] dst, int off, int len) {
    java.util.Objects.checkFromIndexSize(off, len, dst.length);
    if (len == 0) {
      return 0;
    }
    int n;
    lock.lock();
    try {
      claim(BLOCKING);
      ByteBuf b = awaitData();
      if (b == null) {
        return -1;
      }
      n = Math.min(len, b.readableBytes());
      b.readBytes(dst, off, n);
      if (!b.isReadable()) {
        queue.poll();
        b.release();
      }
    } catch (InterruptedException e) {
      throw interrupted(e);
    } finally {
      lock.unlock();
    }
    call.ack(n);
    return n;
  }

  @Override
  public byte @Nullable [] readChunk() {
    byte[] out;
    lock.lock();
    try {
      claim(BLOCKING);
      ByteBuf b = awaitData();
      if (b == null) {
        return null;
      }
      queue.poll();
      out = new byte[b.readableBytes()];
      b.readBytes(out);
      b.release();
    } catch (InterruptedException e) {
      throw interrupted(e);
    } finally {
      lock.unlock();
    }
    call.ack(out.length);
    return out;
  }

  /**
   * The reader was interrupted: the response is abandoned as by {@link #close()} and the interrupt
   * kept. Cancelling under the lock is safe: it only hands a task to the event loop.
   */
  private LlmPoolException interrupted(InterruptedException e) {
    Thread.currentThread().interrupt();
    boolean wasEnded = closeLocked();
    if (!wasEnded) {
      call.cancelCall();
    }
    return new LlmPoolException(
        Phase.READ, call.origin(), "interrupted while reading the response body", true, e);
  }

  @Override
  public byte[] readAll() {
    byte[] buf = new byte[8192];
    int len = 0;
    while (true) {
      if (len == buf.length) {
        if (len >= engine.maxResponseBodySize) {
          close();
          throw new ResponseTooLargeException(
              call.origin(),
              "response body exceeds maxResponseBodySize ("
                  + engine.maxResponseBodySize
                  + " bytes)",
              engine.maxResponseBodySize,
              null);
        }
        buf = Arrays.copyOf(buf, (int) Math.min(engine.maxResponseBodySize, buf.length * 2L));
      }
      int n = read(buf, len, buf.length - len);
      if (n < 0) {
        return Arrays.copyOf(buf, len);
      }
      len += n;
    }
  }

  /** The buffer at the head of the queue, waiting for one; null at the end. Lock held. */
  private @Nullable ByteBuf awaitData() throws InterruptedException {
    while (true) {
      if (closed) {
        throw new IllegalStateException("the response was closed");
      }
      ByteBuf b = queue.peek();
      if (b != null) {
        return b;
      }
      LlmPoolException f = failure;
      if (f != null) {
        throw f;
      }
      if (ended) {
        return null;
      }
      if (NettyTransport.onIoThread()) {
        throw new IllegalStateException(
            "a blocking read on an llmpool I/O thread would wait for itself; use publisher()");
      }
      changed.await();
    }
  }

  private void claim(int wanted) {
    if (mode == NONE) {
      mode = wanted;
    } else if (mode != wanted) {
      throw new IllegalStateException(
          "the body is already consumed "
              + (mode == PUBLISHER ? "by a subscriber" : "by blocking reads"));
    }
  }

  @Override
  public InputStream bodyStream() {
    return new InputStream() {
      @Override
      public int read() {
        byte[] one = new byte[1];
        int n = StreamBody.this.read(one, 0, 1);
        return n < 0 ? -1 : one[0] & 0xff;
      }

      @Override
      public int read(byte[] b, int off, int len) {
        return StreamBody.this.read(b, off, len);
      }

      @Override
      public int available() {
        lock.lock();
        try {
          ByteBuf b = queue.peek();
          return b == null ? 0 : b.readableBytes();
        } finally {
          lock.unlock();
        }
      }

      @Override
      public void close() {
        StreamBody.this.close();
      }
    };
  }

  @Override
  public boolean isDone() {
    lock.lock();
    try {
      return closed || failure != null || (ended && queue.isEmpty());
    } finally {
      lock.unlock();
    }
  }

  @Override
  public void close() {
    boolean wasEnded;
    CompletableFuture<@Nullable ByteBuffer> pull;
    lock.lock();
    try {
      wasEnded = closeLocked();
      pull = pendingPull;
      pendingPull = null;
    } finally {
      lock.unlock();
    }
    if (pull != null) {
      pull.completeExceptionally(new IllegalStateException("the response was closed"));
    }
    if (!wasEnded) {
      // Unread bytes are still coming: abandon the exchange (close the HTTP/1.1 connection,
      // reset the HTTP/2 stream). The call's end releases its lease.
      call.cancelCall();
    }
  }

  /** Marks the body closed and frees what is queued; true when nothing more was coming. */
  private boolean closeLocked() {
    if (closed) {
      return true;
    }
    closed = true;
    boolean wasEnded = ended || failure != null;
    for (ByteBuf b : queue) {
      b.release();
    }
    queue.clear();
    changed.signalAll();
    return wasEnded;
  }

  // ---- Publisher ----

  @Override
  public Flow.Publisher<ByteBuffer> publisher() {
    return publisher(this);
  }

  /**
   * {@link #publisher()}, keeping the caller's handle {@code owner} reachable from this body while
   * a subscriber consumes it: the subscriber, not the handle, is then what the caller holds.
   */
  Flow.Publisher<ByteBuffer> publisher(Object owner) {
    return s -> subscribe(s, owner);
  }

  private void subscribe(Flow.Subscriber<? super ByteBuffer> s, Object owner) {
    java.util.Objects.requireNonNull(s, "subscriber");
    boolean ok;
    lock.lock();
    try {
      ok = mode == NONE && !closed;
      if (ok) {
        mode = PUBLISHER;
        subscriber = s;
        subscribedOwner = owner;
      }
    } finally {
      lock.unlock();
    }
    if (!ok) {
      s.onSubscribe(
          new Flow.Subscription() {
            @Override
            public void request(long n) {}

            @Override
            public void cancel() {}
          });
      s.onError(new IllegalStateException("the body is already being consumed or closed"));
      return;
    }
    s.onSubscribe(
        new Flow.Subscription() {
          @Override
          public void request(long n) {
            if (n <= 0) {
              boolean first;
              lock.lock();
              try {
                first = !terminalSent;
                terminalSent = true;
              } finally {
                lock.unlock();
              }
              close();
              if (first) {
                s.onError(new IllegalArgumentException("request(" + n + "): must be positive"));
              }
              return;
            }
            lock.lock();
            try {
              demand = demand + n < 0 ? Long.MAX_VALUE : demand + n;
            } finally {
              lock.unlock();
            }
            drain();
          }

          @Override
          public void cancel() {
            lock.lock();
            try {
              terminalSent = true;
            } finally {
              lock.unlock();
            }
            close();
          }
        });
    drain();
  }

  /** Delivers what the subscriber asked for; one thread at a time, the others leave work. */
  private void drain() {
    if (drainWip.getAndIncrement() != 0) {
      return;
    }
    do {
      while (true) {
        Flow.Subscriber<? super ByteBuffer> s;
        ByteBuffer item = null;
        LlmPoolException error = null;
        boolean complete = false;
        lock.lock();
        try {
          s = subscriber;
          if (s == null || terminalSent) {
            break;
          }
          ByteBuf b = queue.peek();
          if (b != null && demand > 0) {
            queue.poll();
            byte[] copy = new byte[b.readableBytes()];
            b.readBytes(copy);
            b.release();
            item = ByteBuffer.wrap(copy);
            demand--;
          } else if (b == null && failure != null) {
            error = failure;
            terminalSent = true;
          } else if (b == null && ended) {
            complete = true;
            terminalSent = true;
          } else {
            break;
          }
        } finally {
          lock.unlock();
        }
        if (item != null) {
          call.ack(item.remaining());
          s.onNext(item);
        } else if (error != null) {
          s.onError(error);
        } else if (complete) {
          s.onComplete();
        }
      }
    } while (drainWip.decrementAndGet() != 0);
  }

  @Override
  public String toString() {
    return version + " " + status + " (streaming)";
  }
}
