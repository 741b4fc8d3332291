package dev.llmpool.testkit.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The proxy's schedule as a pure function of arrival times, checked with literal times. */
class DelayLineTest {
  private static final long MS = 1_000_000;

  @Test
  void everyChunkWaitsHalfTheRoundTrip() {
    DelayLine line = new DelayLine(25 * MS, 0, 1, Long.MIN_VALUE);
    assertThat(line.releaseAt(0)).isEqualTo(25 * MS);
    assertThat(line.releaseAt(100 * MS)).isEqualTo(125 * MS);
  }

  @Test
  void theFirstClientBytesWaitOneMoreRoundTripForTheHandshake() {
    long accept = 1_000 * MS;
    DelayLine line = new DelayLine(25 * MS, 0, 1, accept + 50 * MS);
    // sent at once on accept: handshake (1 RTT) + one way (RTT/2) = 75 ms
    assertThat(line.releaseAt(accept)).isEqualTo(accept + 75 * MS);
    // sent after the handshake would have finished: only the one way
    assertThat(line.releaseAt(accept + 200 * MS)).isEqualTo(accept + 225 * MS);
  }

  @Test
  void releaseTimesNeverGoBackwardsWhateverTheJitter() {
    long seed = 20240611L;
    DelayLine line = new DelayLine(5 * MS, 40 * MS, seed, Long.MIN_VALUE);
    SplittableRandom arrivals = new SplittableRandom(7);
    long now = 0;
    long last = Long.MIN_VALUE;
    for (int step = 0; step < 10_000; step++) {
      now += arrivals.nextLong(3 * MS);
      long r = line.releaseAt(now);
      assertThat(r).as("seed %d step %d", seed, step).isGreaterThanOrEqualTo(last);
      assertThat(r).as("seed %d step %d", seed, step).isGreaterThanOrEqualTo(now + 5 * MS);
      last = r;
    }
  }

  @Test
  void jitterStaysWithinItsBoundAndRepeatsForTheSameSeed() {
    List<Long> first = schedule(42);
    assertThat(schedule(42)).isEqualTo(first);
    assertThat(schedule(43)).isNotEqualTo(first);
    for (int i = 0; i < first.size(); i++) {
      long sentAt = i * 100 * MS; // far apart: no ordering floor applies
      assertThat(first.get(i) - sentAt).isBetween(10 * MS, 10 * MS + 20 * MS);
    }
    assertThat(first.stream().map(r -> r % (100 * MS)).distinct().count()).isGreaterThan(1);
  }

  private static List<Long> schedule(long seed) {
    DelayLine line = new DelayLine(10 * MS, 20 * MS, seed, Long.MIN_VALUE);
    List<Long> out = new ArrayList<>();
    for (int i = 0; i < 50; i++) {
      out.add(line.releaseAt(i * 100 * MS));
    }
    return out;
  }

  @Test
  void negativeDelaysAreRejected() {
    assertThatThrownBy(() -> new DelayLine(-1, 0, 0, 0))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
