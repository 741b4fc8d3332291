package dev.llmpool.cli;

import java.lang.management.ManagementFactory;
import java.util.Locale;
import org.jspecify.annotations.Nullable;

/** How busy the machine is: latency measured on a saturated CPU includes waiting for it. */
final class Load {
  private Load() {}

  /** The 1-minute load average, or NaN where the platform does not tell. */
  static double average() {
    double l = ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
    return l < 0 ? Double.NaN : l;
  }

  /** A line saying the figures include CPU queueing, when the load exceeds the CPUs; else null. */
  static @Nullable String busyNote() {
    double l = average();
    int cpus = Runtime.getRuntime().availableProcessors();
    if (Double.isNaN(l) || l <= cpus) {
      return null;
    }
    return String.format(
        Locale.ROOT,
        "Note: this machine is busy (load average %.1f on %d CPUs): the figures include time spent"
            + " waiting for a CPU.",
        l,
        cpus);
  }
}
