package dev.llmpool.cli;

import dev.llmpool.time.Ticker;

/** The CLI's clock: llmpool's monotonic system ticker (the only permitted reader of time). */
final class Ticks {
  private static final Ticker TICKER = Ticker.system();

  private Ticks() {}

  /** Monotonic nanoseconds; only differences mean anything. */
  static long now() {
    return TICKER.nanoTime();
  }
}
