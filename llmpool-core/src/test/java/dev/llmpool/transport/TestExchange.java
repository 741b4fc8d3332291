package dev.llmpool.transport;

import dev.llmpool.LlmPoolException;
import io.netty.buffer.ByteBuf;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.jspecify.annotations.Nullable;

/**
 * An exchange that records what the transport tells it. By default it acknowledges body bytes at
 * once; with {@code autoAck(false)} it holds them, like a slow reader.
 */
final class TestExchange extends Exchange {
  private final String method;
  private final String target;
  private final List<String> headers = new ArrayList<>();
  private final byte @Nullable [] body;
  private final long deadline;
  private volatile boolean autoAck = true;

  final CompletableFuture<Integer> head = new CompletableFuture<>();
  final CompletableFuture<Result> end = new CompletableFuture<>();
  final ByteArrayOutputStream received = new ByteArrayOutputStream();
  volatile long held;
  volatile long maxHeld;
  volatile String[] responseHeaders = new String[0];
  volatile boolean written;
  volatile long contentLengthAtHead = -2;

  record Result(@Nullable LlmPoolException failure, boolean reusable) {}

  TestExchange(String method, String target, byte @Nullable [] body, long deadlineNanos) {
    this.method = method;
    this.target = target;
    this.body = body;
    this.deadline = deadlineNanos;
  }

  static TestExchange get(String target) {
    return new TestExchange("GET", target, null, Long.MAX_VALUE / 2);
  }

  TestExchange header(String name, String value) {
    headers.add(name);
    headers.add(value);
    return this;
  }

  TestExchange autoAck(boolean on) {
    this.autoAck = on;
    return this;
  }

  String bodyText() {
    synchronized (received) {
      return received.toString(StandardCharsets.UTF_8);
    }
  }

  @Override
  public String method() {
    return method;
  }

  @Override
  public String target() {
    return target;
  }

  @Override
  public int headerCount() {
    return headers.size() / 2;
  }

  @Override
  public String headerName(int i) {
    return headers.get(2 * i);
  }

  @Override
  public String headerValue(int i) {
    return headers.get(2 * i + 1);
  }

  @Override
  public byte @Nullable [] body() {
    return body;
  }

  @Override
  public @Nullable String contentType() {
    return body == null ? null : "application/json";
  }

  @Override
  public long totalDeadlineNanos() {
    return deadline;
  }

  @Override
  protected void onRequestWritten(long bodyBytes) {
    written = true;
  }

  @Override
  protected void onResponseHead(int status, String[] headers, boolean http2) {
    responseHeaders = headers;
    contentLengthAtHead = responseContentLength();
    head.complete(status);
  }

  @Override
  protected void onResponseData(ByteBuf data) {
    int n = data.readableBytes();
    byte[] b = new byte[n];
    data.readBytes(b);
    data.release();
    synchronized (received) {
      received.writeBytes(b);
    }
    if (autoAck) {
      ack(n);
    } else {
      held += n;
      maxHeld = Math.max(maxHeld, held);
    }
  }

  /**
   * Acknowledges everything held and every later byte at once: the slow reader catches up. Runs on
   * the connection's event loop, where the bytes are counted.
   */
  void resumeReading() {
    NettyConnection c = connection;
    if (c == null) {
      throw new IllegalStateException("not started");
    }
    c.loop.execute(
        () -> {
          autoAck = true;
          long n = held;
          held = 0;
          ack(n);
        });
  }

  /** Acknowledges everything held so far (from the test thread). */
  void ackHeld() {
    long n = held;
    held = 0;
    ack(n);
  }

  @Override
  protected void onEnd(@Nullable LlmPoolException failure, boolean reusable) {
    end.complete(new Result(failure, reusable));
  }
}
