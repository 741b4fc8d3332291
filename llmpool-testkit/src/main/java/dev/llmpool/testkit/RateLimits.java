package dev.llmpool.testkit;

import io.netty.util.concurrent.Ticker;
import java.time.Duration;

/**
 * Fixed one-minute windows of requests and tokens, only to fill in the rate-limit headers: the mock
 * server does not refuse requests over the limit (a test asks for a 429 with a {@link Reply}).
 * Thread-safe: every method is synchronized; the windows are tiny critical sections.
 */
final class RateLimits {
  private static final long WINDOW_NANOS = Duration.ofMinutes(1).toNanos();

  private final long requestLimit;
  private final long tokenLimit;
  private final Ticker ticker;

  // Guarded by this.
  private long windowStart;
  private boolean started;
  private long requestsUsed;
  private long inputTokensUsed;
  private long outputTokensUsed;

  /** What the headers say after one request was charged. */
  record Snapshot(
      long requestLimit,
      long requestsRemaining,
      long tokenLimit,
      long tokensRemaining,
      long inputTokenLimit,
      long inputTokensRemaining,
      long outputTokenLimit,
      long outputTokensRemaining,
      Duration resetIn) {}

  RateLimits(long requestLimit, long tokenLimit, Ticker ticker) {
    this.requestLimit = requestLimit;
    this.tokenLimit = tokenLimit;
    this.ticker = ticker;
  }

  /** Charges one request and its tokens, and says what is left. */
  synchronized Snapshot charge(long inputTokens, long outputTokens, boolean limited) {
    long now = ticker.nanoTime();
    if (!started || now - windowStart >= WINDOW_NANOS) {
      started = true;
      windowStart = now;
      requestsUsed = 0;
      inputTokensUsed = 0;
      outputTokensUsed = 0;
    }
    requestsUsed++;
    inputTokensUsed += inputTokens;
    outputTokensUsed += outputTokens;
    long inputLimit = tokenLimit * 4 / 5;
    long outputLimit = tokenLimit - inputLimit;
    return new Snapshot(
        requestLimit,
        limited ? 0 : Math.max(0, requestLimit - requestsUsed),
        tokenLimit,
        Math.max(0, tokenLimit - inputTokensUsed - outputTokensUsed),
        inputLimit,
        Math.max(0, inputLimit - inputTokensUsed),
        outputLimit,
        Math.max(0, outputLimit - outputTokensUsed),
        Duration.ofNanos(Math.max(0, windowStart + WINDOW_NANOS - now)));
  }
}
