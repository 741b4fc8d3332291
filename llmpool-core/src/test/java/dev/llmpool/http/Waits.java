package dev.llmpool.http;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;

/** Waiting for a condition with a generous bound, instead of sleeping. */
final class Waits {
  private Waits() {}

  static void until(BooleanSupplier condition) {
    long deadline = System.nanoTime() + 20_000_000_000L;
    while (!condition.getAsBoolean()) {
      assertThat(System.nanoTime()).as("condition not met within 20 s").isLessThan(deadline);
      // Poll politely: a spinning thread can starve the threads that make the condition true.
      LockSupport.parkNanos(1_000_000L);
    }
  }
}
