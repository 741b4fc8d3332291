package dev.llmpool.cli;

import java.util.LinkedHashMap;
import java.util.Map;
import org.HdrHistogram.Histogram;

/**
 * Latencies recorded in nanoseconds, read back as milliseconds: HdrHistogram percentiles (3
 * significant digits, so within 0.1%) and the exact minimum and maximum. Thread-safe (recording is
 * synchronized: the demo and the bench record at most a few thousand values a second).
 */
final class Latencies {
  private final Histogram histogram = new Histogram(3); // auto-resizing, microseconds
  private long count;
  private long minNanos = Long.MAX_VALUE;
  private long maxNanos;
  private double sumNanos;

  synchronized void record(long nanos) {
    long n = Math.max(0, nanos);
    histogram.recordValue(Math.max(1, n / 1_000));
    count++;
    minNanos = Math.min(minNanos, n);
    maxNanos = Math.max(maxNanos, n);
    sumNanos += n;
  }

  synchronized long count() {
    return count;
  }

  /** The value at {@code percentile} (0-100) in milliseconds, or NaN when nothing was recorded. */
  synchronized double percentileMs(double percentile) {
    if (count == 0) {
      return Double.NaN;
    }
    if (percentile >= 100) {
      return maxMs();
    }
    // HdrHistogram reports the highest value equivalent to the bucket; never above the true max.
    double v = histogram.getValueAtPercentile(percentile) / 1_000.0;
    return Math.min(v, maxMs());
  }

  synchronized double maxMs() {
    return count == 0 ? Double.NaN : maxNanos / 1e6;
  }

  synchronized double minMs() {
    return count == 0 ? Double.NaN : minNanos / 1e6;
  }

  synchronized double meanMs() {
    return count == 0 ? Double.NaN : sumNanos / count / 1e6;
  }

  /** {@code {"p50":…, "p90":…, …}} for the given percentile names (p50, p90, p99, p999, max). */
  synchronized Map<String, Object> toMap(String... keys) {
    Map<String, Object> m = new LinkedHashMap<>();
    for (String k : keys) {
      double v =
          switch (k) {
            case "max" -> maxMs();
            case "min" -> minMs();
            case "mean" -> meanMs();
            case "p999" -> percentileMs(99.9);
            default -> percentileMs(Double.parseDouble(k.substring(1)));
          };
      m.put(k, Format.round1(v));
    }
    return m;
  }
}
