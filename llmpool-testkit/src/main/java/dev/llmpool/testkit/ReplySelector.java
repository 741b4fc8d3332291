package dev.llmpool.testkit;

import java.util.ArrayDeque;
import java.util.List;
import java.util.SplittableRandom;
import org.jspecify.annotations.Nullable;

/**
 * Chooses the reply for a request: the {@code x-mock-fault} header first, then the queue (FIFO),
 * then the first rule whose predicate matches, then the default reply, which the seeded failure
 * rate replaces by the failure reply for that share of requests.
 *
 * <p>Thread-safe: the queue and the random generator are guarded by {@code this}; rules are
 * evaluated outside the lock (they are user code).
 */
final class ReplySelector {
  private final Reply defaultReply;
  private final List<ServerConfig.Rule> rules;
  private final double failureRate;
  private final @Nullable Reply failureReply;

  // Guarded by this.
  private final ArrayDeque<Reply> queue = new ArrayDeque<>();
  private final SplittableRandom random;

  ReplySelector(ServerConfig config) {
    this.defaultReply = config.defaultReply();
    this.rules = config.rules();
    this.failureRate = config.failureRate();
    this.failureReply = config.failureReply();
    this.random = new SplittableRandom(config.failureSeed());
  }

  synchronized void enqueue(Reply reply) {
    queue.addLast(reply);
  }

  synchronized int queued() {
    return queue.size();
  }

  /** The header's reply; the caller has validated the header already. */
  Reply fromHeader(String header) {
    return Reply.parseHeader(header, defaultReply);
  }

  /**
   * A reply that acts before the body is read ({@link Fault#RESPOND_BEFORE_BODY}): from the header
   * or the head of the queue, else null (the request goes the normal way).
   */
  @Nullable Reply early(@Nullable String header) {
    if (header != null) {
      Reply r = fromHeader(header);
      return r.fault() == Fault.RESPOND_BEFORE_BODY ? r : null;
    }
    synchronized (this) {
      Reply head = queue.peekFirst();
      if (head != null && head.fault() == Fault.RESPOND_BEFORE_BODY) {
        return queue.pollFirst();
      }
      return null;
    }
  }

  /** The reply for a whole request. */
  Reply select(RecordedRequest request, @Nullable String header) {
    if (header != null) {
      return fromHeader(header);
    }
    synchronized (this) {
      Reply queued = queue.pollFirst();
      if (queued != null) {
        return queued;
      }
    }
    for (ServerConfig.Rule rule : rules) {
      if (rule.when().test(request)) {
        return rule.reply();
      }
    }
    Reply failure = failureReply;
    if (failure != null && failureRate > 0) {
      boolean fail;
      synchronized (this) {
        fail = random.nextDouble() < failureRate;
      }
      if (fail) {
        return failure;
      }
    }
    return defaultReply;
  }
}
