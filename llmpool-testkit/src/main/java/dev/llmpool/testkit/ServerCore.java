package dev.llmpool.testkit;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.netty.channel.Channel;
import io.netty.util.concurrent.Ticker;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Predicate;
import org.jspecify.annotations.Nullable;

/**
 * The state every connection of one mock server shares: counters, the request log, the reply
 * selector and the API. Protocol handlers call it from their event loops; tests read it from
 * theirs.
 *
 * <p>Threading: counters are atomics; the log and the connection table are guarded by {@code lock},
 * whose condition {@code changed} is signalled on every event a test may wait for (connection
 * opened or closed, handshake, request).
 */
final class ServerCore {
  final ServerConfig config;
  final LlmApi api;
  final ReplySelector selector;

  private final AtomicLong connectionIds = new AtomicLong();
  private final AtomicLong connectionsAccepted = new AtomicLong();
  private final AtomicInteger connectionsOpen = new AtomicInteger();
  private final AtomicLong tlsHandshakes = new AtomicLong();
  private final AtomicLong requestsServed = new AtomicLong();
  private final AtomicInteger activeStreams = new AtomicInteger();
  private final AtomicInteger peakStreams = new AtomicInteger();
  private final AtomicLong bytesIn = new AtomicLong();
  private final AtomicLong bytesOut = new AtomicLong();

  private final ReentrantLock lock = new ReentrantLock();
  private final Condition changed = lock.newCondition();
  // Guarded by lock.
  private final ArrayDeque<RecordedRequest> log = new ArrayDeque<>();
  private final LinkedHashMap<Long, Conn> connections = new LinkedHashMap<>();
  private int closedRetained;

  private final LinkedBlockingQueue<RecordedRequest> toTake = new LinkedBlockingQueue<>();

  /** A request, recorded, and the response to write. */
  record Handled(RecordedRequest request, Plan plan) {}

  ServerCore(ServerConfig config, String idPrefix) {
    this.config = config;
    this.selector = new ReplySelector(config);
    this.api =
        new LlmApi(
            config,
            new ObjectMapper(),
            new RateLimits(
                config.requestsPerMinute(), config.tokensPerMinute(), Ticker.systemTicker()),
            idPrefix);
  }

  // ---------------------------------------------------------------- connections

  Conn newConnection(Channel channel, boolean tls) {
    Conn c = new Conn(connectionIds.incrementAndGet(), channel, tls, this, config.closeIdleAfter());
    connectionsAccepted.incrementAndGet();
    connectionsOpen.incrementAndGet();
    lock.lock();
    try {
      connections.put(c.id, c);
      changed.signalAll();
    } finally {
      lock.unlock();
    }
    return c;
  }

  void connectionClosed(Conn c) {
    c.closed();
    connectionsOpen.decrementAndGet();
    lock.lock();
    try {
      closedRetained++;
      // Keep closed connections' stats up to the log limit, so a long-running server stays bounded.
      Iterator<Conn> it = connections.values().iterator();
      while (closedRetained > config.requestLogLimit() && it.hasNext()) {
        Conn old = it.next();
        if (!old.isOpen()) {
          it.remove();
          closedRetained--;
        }
      }
      changed.signalAll();
    } finally {
      lock.unlock();
    }
  }

  void tlsHandshakeCompleted() {
    tlsHandshakes.incrementAndGet();
    changed();
  }

  void streamOpened() {
    int now = activeStreams.incrementAndGet();
    peakStreams.accumulateAndGet(now, Math::max);
  }

  void streamClosed() {
    activeStreams.decrementAndGet();
  }

  void bytesIn(Conn c, long n) {
    c.bytesIn.addAndGet(n);
    bytesIn.addAndGet(n);
  }

  void bytesOut(Conn c, long n) {
    c.bytesOut.addAndGet(n);
    bytesOut.addAndGet(n);
  }

  /** Wakes tests waiting in {@link #awaitStats}. */
  void changed() {
    lock.lock();
    try {
      changed.signalAll();
    } finally {
      lock.unlock();
    }
  }

  // ---------------------------------------------------------------- requests

  /** Handles a whole request: validation, then the chosen reply. */
  Handled handle(
      Conn conn,
      int streamId,
      String method,
      String path,
      Map<String, List<String>> headers,
      byte[] body) {
    String requestId = api.newRequestId();
    LlmApi.Head head = api.head(method, path, headers);
    LlmApi.ApiError error = head.error();
    LlmApi.Body parsed = null;
    if (error == null) {
      parsed = api.body(head, body);
      error = parsed.error();
    }
    RecordedRequest base =
        newRecord(
            conn,
            streamId,
            method,
            path,
            headers,
            body,
            parsed == null ? "" : parsed.prompt(),
            parsed == null ? null : parsed.model(),
            requestId);
    Plan plan;
    Reply reply;
    if (parsed == null || error != null) {
      LlmApi.ApiError e = Objects.requireNonNull(error);
      reply = Reply.builder().status(e.status()).errorMessage(e.message()).build();
      plan = api.errorPlan(head.flavor(), e, requestId, null);
    } else {
      try {
        reply = selector.select(base, LlmApi.first(headers, LlmApi.FAULT_HEADER));
      } catch (RuntimeException e) {
        // A rule's predicate threw: say so in a 500 rather than drop the connection.
        reply =
            Reply.builder()
                .status(500)
                .errorMessage("llmpool-testkit: a rule's predicate threw " + e)
                .build();
      }
      plan = api.plan(head, parsed, reply, requestId);
    }
    RecordedRequest recorded = base.withReply(reply);
    record(recorded);
    return new Handled(recorded, plan);
  }

  /**
   * At the request head, before its body: the response of a {@link Fault#RESPOND_BEFORE_BODY} reply
   * (from the header or the queue), or null when the request goes the normal way.
   */
  @Nullable Handled early(
      Conn conn, int streamId, String method, String path, Map<String, List<String>> headers) {
    LlmApi.Head head = api.head(method, path, headers);
    if (head.error() != null || head.route() == LlmApi.Route.MODELS) {
      return null;
    }
    Reply reply = selector.early(LlmApi.first(headers, LlmApi.FAULT_HEADER));
    if (reply == null) {
      return null;
    }
    String requestId = api.newRequestId();
    LlmApi.Body none = new LlmApi.Body(null, false, false, "", 0, 1, null);
    Plan plan = api.plan(head, none, reply, requestId);
    RecordedRequest recorded =
        newRecord(conn, streamId, method, path, headers, new byte[0], "", null, requestId)
            .withReply(reply);
    record(recorded);
    return new Handled(recorded, plan);
  }

  /** A request whose body is over the limit: a 413 in the route's shape. */
  Handled tooLarge(
      Conn conn,
      int streamId,
      String method,
      String path,
      Map<String, List<String>> headers,
      long size) {
    String requestId = api.newRequestId();
    LlmApi.Head head = api.head(method, path, headers);
    LlmApi.ApiError e = api.tooLarge(head.flavor(), size);
    Reply reply = Reply.builder().status(413).errorMessage(e.message()).build();
    Plan plan = api.errorPlan(head.flavor(), e, requestId, null);
    RecordedRequest recorded =
        newRecord(conn, streamId, method, path, headers, new byte[0], "", null, requestId)
            .withReply(reply);
    record(recorded);
    return new Handled(recorded, plan);
  }

  private RecordedRequest newRecord(
      Conn conn,
      int streamId,
      String method,
      String path,
      Map<String, List<String>> headers,
      byte[] body,
      String prompt,
      @Nullable String model,
      String requestId) {
    Protocol p = conn.protocol();
    return new RecordedRequest(
        conn.id,
        streamId,
        conn.nextRequest(),
        p == null ? Protocol.HTTP_1_1 : p,
        conn.tls,
        method,
        path,
        headers,
        body,
        prompt,
        model,
        requestId,
        null);
  }

  private void record(RecordedRequest r) {
    requestsServed.incrementAndGet();
    lock.lock();
    try {
      log.addLast(r);
      if (log.size() > config.requestLogLimit()) {
        log.removeFirst();
      }
      changed.signalAll();
    } finally {
      lock.unlock();
    }
    toTake.add(r);
    if (toTake.size() > config.requestLogLimit()) {
      toTake.poll();
    }
  }

  // ---------------------------------------------------------------- for tests

  List<RecordedRequest> requests() {
    lock.lock();
    try {
      return List.copyOf(log);
    } finally {
      lock.unlock();
    }
  }

  @Nullable RecordedRequest poll(Duration timeout) throws InterruptedException {
    return toTake.poll(timeout.toNanos(), TimeUnit.NANOSECONDS);
  }

  MockServerStats stats() {
    List<ConnectionStats> conns = new ArrayList<>();
    lock.lock();
    try {
      for (Conn c : connections.values()) {
        conns.add(c.snapshot());
      }
    } finally {
      lock.unlock();
    }
    return new MockServerStats(
        connectionsAccepted.get(),
        connectionsOpen.get(),
        tlsHandshakes.get(),
        requestsServed.get(),
        peakStreams.get(),
        bytesIn.get(),
        bytesOut.get(),
        conns);
  }

  MockServerStats awaitStats(Predicate<MockServerStats> condition, Duration timeout)
      throws InterruptedException {
    Ticker ticker = Ticker.systemTicker();
    long deadline = ticker.nanoTime() + timeout.toNanos();
    lock.lock();
    try {
      while (true) {
        MockServerStats s = stats();
        if (condition.test(s)) {
          return s;
        }
        long left = deadline - ticker.nanoTime();
        if (left <= 0) {
          throw new IllegalStateException(
              "the mock server's stats did not reach the condition within " + timeout + ": " + s);
        }
        // Byte counters do not signal; a short bound lets a condition on them be seen too.
        changed.awaitNanos(Math.min(left, TimeUnit.MILLISECONDS.toNanos(20)));
      }
    } finally {
      lock.unlock();
    }
  }
}
