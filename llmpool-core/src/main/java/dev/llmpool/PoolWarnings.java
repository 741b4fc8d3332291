package dev.llmpool;

import java.time.Duration;
import java.util.Locale;
import java.util.Objects;

/**
 * When the pool logs that it is running out of connections. Immutable; build with {@link
 * #builder()}, vary with {@link #toBuilder()}, set with {@code LlmPool.Builder.warnings(...)}.
 *
 * <p><b>Utilization warning.</b> The pool samples its own statistics about once a second, on its
 * scheduler, never on a call's path. Utilization is {@code active connections / limit}, and 1.0
 * when calls wait and no further connection may be opened (see {@link PoolStats#utilization()}).
 * When every sample over {@link #sustainedFor()} (default 10 s) is at or above {@link
 * #utilizationThreshold()} (default 0.8), one WARN is logged with the figures and the likely
 * remedy. No further utilization warning is logged until a sample falls below {@link #rearmBelow()}
 * (default 0.6); then a new sustained period is needed to warn again. A burst that fills the pool
 * for a moment is not a warning; the {@linkplain PoolStats#peakUtilization() peak} still shows it.
 * The whole pool is watched against {@code maxConnections}; when {@code maxConnectionsPerHost} is
 * lower, each origin is watched against it as well.
 *
 * <p><b>Failure summary.</b> Calls that failed with {@link PoolTimeoutException} or {@link
 * PoolFullException} are counted, not logged one by one: one WARN per origin gives the counts, at
 * most once per {@link #failureSummaryInterval()} (default 60 s); the first one comes within a
 * second of the first failure.
 *
 * <table>
 *   <caption>The settings and their defaults</caption>
 *   <tr><th>setting</th><th>default</th></tr>
 *   <tr><td>utilizationThreshold</td><td>0.8</td></tr>
 *   <tr><td>rearmBelow</td><td>0.6</td></tr>
 *   <tr><td>sustainedFor</td><td>10 s</td></tr>
 *   <tr><td>failureSummaryInterval</td><td>60 s</td></tr>
 * </table>
 */
public final class PoolWarnings {
  /** The defaults in the table above. */
  public static final PoolWarnings DEFAULTS = builder().build();

  /** No warnings and no sampling at all (peak utilization then comes from peak active only). */
  public static final PoolWarnings OFF = builder().enabled(false).build();

  private final boolean enabled;
  private final double utilizationThreshold;
  private final double rearmBelow;
  private final Duration sustainedFor;
  private final Duration failureSummaryInterval;

  private PoolWarnings(Builder b) {
    this.enabled = b.enabled;
    this.utilizationThreshold = b.utilizationThreshold;
    this.rearmBelow = b.rearmBelow;
    this.sustainedFor = b.sustainedFor;
    this.failureSummaryInterval = b.failureSummaryInterval;
  }

  /** A builder with the defaults. */
  public static Builder builder() {
    return new Builder();
  }

  /** A builder holding this object's values. */
  public Builder toBuilder() {
    return new Builder()
        .enabled(enabled)
        .utilizationThreshold(utilizationThreshold)
        .rearmBelow(rearmBelow)
        .sustainedFor(sustainedFor)
        .failureSummaryInterval(failureSummaryInterval);
  }

  /** False when the pool logs no warning and samples nothing. */
  public boolean enabled() {
    return enabled;
  }

  /** Utilization at or above which, sustained, the pool warns. */
  public double utilizationThreshold() {
    return utilizationThreshold;
  }

  /** Utilization below which the warning is re-armed (hysteresis). */
  public double rearmBelow() {
    return rearmBelow;
  }

  /** How long utilization must stay at or above the threshold before the warning. */
  public Duration sustainedFor() {
    return sustainedFor;
  }

  /** The shortest time between two summaries of pool timeouts and rejections for one origin. */
  public Duration failureSummaryInterval() {
    return failureSummaryInterval;
  }

  /**
   * How often the pool samples its statistics: once a second, or {@code sustainedFor / 10} when
   * that is shorter, but not more often than every 100 ms.
   */
  public Duration sampleInterval() {
    Duration tenth = sustainedFor.dividedBy(10);
    Duration second = Duration.ofSeconds(1);
    Duration floor = Duration.ofMillis(100);
    Duration d = tenth.compareTo(second) < 0 ? tenth : second;
    return d.compareTo(floor) < 0 ? floor : d;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof PoolWarnings w
        && enabled == w.enabled
        && utilizationThreshold == w.utilizationThreshold
        && rearmBelow == w.rearmBelow
        && sustainedFor.equals(w.sustainedFor)
        && failureSummaryInterval.equals(w.failureSummaryInterval);
  }

  @Override
  public int hashCode() {
    return Objects.hash(
        enabled, utilizationThreshold, rearmBelow, sustainedFor, failureSummaryInterval);
  }

  @Override
  public String toString() {
    if (!enabled) {
      return "PoolWarnings{off}";
    }
    return String.format(
        Locale.ROOT,
        "PoolWarnings{utilizationThreshold=%s, rearmBelow=%s, sustainedFor=%s,"
            + " failureSummaryInterval=%s}",
        utilizationThreshold,
        rearmBelow,
        sustainedFor,
        failureSummaryInterval);
  }

  /** Builds {@link PoolWarnings}; values are checked in {@link #build()}. */
  public static final class Builder {
    private boolean enabled = true;
    private double utilizationThreshold = 0.8;
    private double rearmBelow = 0.6;
    private Duration sustainedFor = Duration.ofSeconds(10);
    private Duration failureSummaryInterval = Duration.ofSeconds(60);

    private Builder() {}

    /** On (the default) or off. */
    public Builder enabled(boolean on) {
      this.enabled = on;
      return this;
    }

    /** Utilization (0 to 1) at or above which, sustained, the pool warns. Default 0.8. */
    public Builder utilizationThreshold(double fraction) {
      this.utilizationThreshold = fraction;
      return this;
    }

    /**
     * Utilization (0 to 1) below which the warning is re-armed; must be lower than the threshold.
     * Default 0.6.
     */
    public Builder rearmBelow(double fraction) {
      this.rearmBelow = fraction;
      return this;
    }

    /**
     * How long utilization must stay at or above the threshold before the warning; zero warns at
     * the first high sample. Default 10 s.
     */
    public Builder sustainedFor(Duration d) {
      this.sustainedFor = Objects.requireNonNull(d, "sustainedFor");
      return this;
    }

    /** The shortest time between two failure summaries for one origin. Default 60 s. */
    public Builder failureSummaryInterval(Duration d) {
      this.failureSummaryInterval = Objects.requireNonNull(d, "failureSummaryInterval");
      return this;
    }

    /**
     * Checks the values and builds.
     *
     * @throws IllegalArgumentException naming the field and the value when a fraction is outside
     *     0..1, the re-arm level is not below the threshold, or a duration is negative (the summary
     *     interval: not positive)
     */
    public PoolWarnings build() {
      if (!(utilizationThreshold > 0 && utilizationThreshold <= 1)) {
        throw new IllegalArgumentException(
            "warnings.utilizationThreshold must be in (0, 1], got " + utilizationThreshold);
      }
      if (!(rearmBelow >= 0 && rearmBelow < utilizationThreshold)) {
        throw new IllegalArgumentException(
            "warnings.rearmBelow must be in [0, utilizationThreshold="
                + utilizationThreshold
                + "), got "
                + rearmBelow);
      }
      if (sustainedFor.isNegative()) {
        throw new IllegalArgumentException(
            "warnings.sustainedFor must not be negative, got " + sustainedFor);
      }
      if (failureSummaryInterval.isZero() || failureSummaryInterval.isNegative()) {
        throw new IllegalArgumentException(
            "warnings.failureSummaryInterval must be positive, got " + failureSummaryInterval);
      }
      return new PoolWarnings(this);
    }
  }
}
