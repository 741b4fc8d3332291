package dev.llmpool.bench.peers;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * What the harness reads from the JVM and from Linux.
 *
 * <ul>
 *   <li>CPU: the whole process's CPU time ({@code OperatingSystemMXBean.getProcessCpuTime}), so a
 *       client's I/O threads, selector threads and GC all count.
 *   <li>Allocation: per thread, {@code com.sun.management.ThreadMXBean.getThreadAllocatedBytes} at
 *       both edges of a window, summed over the threads alive at its end. A thread that ends inside
 *       the window takes its bytes with it, so the figure is a floor; the clients here keep their
 *       I/O and worker threads for far longer than a cell.
 *   <li>nginx: user + system ticks of the worker from {@code /proc/<pid>/stat}.
 *   <li>The machine: busy ticks of all CPUs from {@code /proc/stat} (user, nice, system, irq,
 *       softirq, steal), so that what neither the client nor nginx used (the harness, other
 *       processes, kernel threads such as a memory monitor) shows per cell.
 * </ul>
 */
public final class Meters {
  private static final com.sun.management.OperatingSystemMXBean OS =
      (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
  private static final com.sun.management.ThreadMXBean THREADS =
      (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

  private final long nginxPid;
  private final long clockTicksPerSecond;

  /** {@code nginxPid} 0 when there is no nginx worker to watch. */
  public Meters(long nginxPid, long clockTicksPerSecond) {
    this.nginxPid = nginxPid;
    this.clockTicksPerSecond = clockTicksPerSecond;
    THREADS.setThreadAllocatedMemoryEnabled(true);
  }

  /**
   * A reading of every counter at one moment. Allocation is kept per thread so that {@link #minus}
   * adds up, for each thread alive at the later reading, what it allocated since the earlier one
   * (all of it for a thread started in between); a thread that ended in between is missing.
   */
  public static final class Snapshot {
    private final long nanos;
    private final long cpuNanos;
    private final long[] threadIds;
    private final long[] threadBytes;
    private final long nginxCpuNanos;
    private final long machineCpuNanos;

    Snapshot(
        long nanos,
        long cpuNanos,
        long[] threadIds,
        long[] threadBytes,
        long nginxCpuNanos,
        long machineCpuNanos) {
      this.nanos = nanos;
      this.cpuNanos = cpuNanos;
      this.threadIds = threadIds;
      this.threadBytes = threadBytes;
      this.nginxCpuNanos = nginxCpuNanos;
      this.machineCpuNanos = machineCpuNanos;
    }

    /** The difference {@code this - earlier}, as a {@link Window}. */
    public Window minus(Snapshot earlier) {
      Map<Long, Long> before = new HashMap<>();
      for (int i = 0; i < earlier.threadIds.length; i++) {
        before.put(earlier.threadIds[i], earlier.threadBytes[i]);
      }
      long allocated = 0;
      for (int i = 0; i < threadIds.length; i++) {
        if (threadBytes[i] < 0) {
          continue; // the thread ended while being read
        }
        Long b = before.get(threadIds[i]);
        allocated += b == null || b < 0 ? threadBytes[i] : threadBytes[i] - b;
      }
      return new Window(
          nanos - earlier.nanos,
          cpuNanos - earlier.cpuNanos,
          allocated,
          nginxCpuNanos - earlier.nginxCpuNanos,
          machineCpuNanos < 0 || earlier.machineCpuNanos < 0
              ? -1
              : machineCpuNanos - earlier.machineCpuNanos);
    }
  }

  /** What happened between two snapshots ({@code machineCpuNanos} -1 when unknown). */
  public record Window(
      long nanos, long cpuNanos, long allocatedBytes, long nginxCpuNanos, long machineCpuNanos) {

    /**
     * CPU that neither this process nor nginx used during the window, in percent of one CPU; -1
     * when unknown. Tick-grained (10 ms a CPU at 100 Hz), so a few percent over a 4 s window.
     */
    public double otherCpuPercent() {
      return Meters.otherCpuPercent(machineCpuNanos, cpuNanos + nginxCpuNanos, nanos);
    }
  }

  /** The machine's busy CPU minus {@code accounted}, over {@code wallNanos}, in % of one CPU. */
  static double otherCpuPercent(long machineCpuNanos, long accounted, long wallNanos) {
    if (machineCpuNanos < 0 || wallNanos <= 0) {
      return -1;
    }
    return Math.max(0, machineCpuNanos - accounted) * 100.0 / wallNanos;
  }

  /** Reads every counter now. */
  public Snapshot snapshot() {
    long[] ids = THREADS.getAllThreadIds();
    long[] bytes = THREADS.getThreadAllocatedBytes(ids);
    long nginx = nginxCpuNanos();
    long cpu = OS.getProcessCpuTime();
    return new Snapshot(System.nanoTime(), cpu, ids, bytes, nginx, machineCpuNanos());
  }

  /**
   * Busy CPU time of the whole machine (all CPUs) from the first line of {@code /proc/stat}; -1
   * where there is none.
   */
  public long machineCpuNanos() {
    try {
      List<String> lines = Files.readAllLines(Paths.get("/proc/stat"), StandardCharsets.US_ASCII);
      return machineCpuNanosFromStat(lines.get(0), clockTicksPerSecond);
    } catch (IOException | RuntimeException e) {
      return -1;
    }
  }

  /**
   * Parses the {@code cpu} line of {@code /proc/stat}: user, nice, system, idle, iowait, irq,
   * softirq, steal (guest time is inside user); busy is all but idle and iowait.
   */
  static long machineCpuNanosFromStat(String cpuLine, long clockTicksPerSecond) {
    String[] f = cpuLine.trim().split("\\s+", -1);
    if (f.length < 9 || !f[0].equals("cpu")) {
      return -1;
    }
    long ticks = 0;
    for (int i : new int[] {1, 2, 3, 6, 7, 8}) {
      ticks += Long.parseLong(f[i]);
    }
    return ticks * 1_000_000_000L / clockTicksPerSecond;
  }

  /** CPU time of the nginx worker, or 0 without one. */
  public long nginxCpuNanos() {
    if (nginxPid <= 0) {
      return 0;
    }
    return cpuNanosOf(nginxPid, clockTicksPerSecond, false);
  }

  /**
   * User + system CPU of {@code pid} from {@code /proc/<pid>/stat}; with {@code children}, that of
   * its waited-for children instead (how the harness times h2load).
   */
  public static long cpuNanosOf(long pid, long clockTicksPerSecond, boolean children) {
    try {
      String stat =
          new String(
              Files.readAllBytes(Paths.get("/proc/" + pid + "/stat")), StandardCharsets.US_ASCII);
      return cpuNanosFromStat(stat, clockTicksPerSecond, children);
    } catch (IOException e) {
      return 0;
    }
  }

  /** Parses a {@code /proc/<pid>/stat} line (the command may contain spaces and parentheses). */
  public static long cpuNanosFromStat(String stat, long clockTicksPerSecond, boolean children) {
    String[] f = stat.substring(stat.lastIndexOf(')') + 2).trim().split(" ", -1);
    // Fields after the command start at field 3 (state); utime is field 14, stime 15, cutime 16,
    // cstime 17 (1-based, proc(5)).
    int first = children ? 16 : 14;
    long ticks = Long.parseLong(f[first - 3]) + Long.parseLong(f[first - 2]);
    return ticks * 1_000_000_000L / clockTicksPerSecond;
  }

  /** This process's resident set size in bytes ({@code VmRSS}). */
  public static long rssBytes() {
    return statusKiB("VmRSS:") * 1024;
  }

  /** The anonymous part of this process's resident set in bytes ({@code RssAnon}). */
  public static long rssAnonBytes() {
    return statusKiB("RssAnon:") * 1024;
  }

  private static long statusKiB(String key) {
    try {
      for (String line :
          Files.readAllLines(Paths.get("/proc/self/status"), StandardCharsets.US_ASCII)) {
        if (line.startsWith(key)) {
          String v = line.substring(key.length()).trim();
          return Long.parseLong(v.substring(0, v.indexOf(' ')));
        }
      }
    } catch (IOException | RuntimeException e) {
      return -1;
    }
    return -1;
  }

  /** Live threads of this JVM. */
  public static int threadCount() {
    return THREADS.getThreadCount();
  }

  /**
   * Established TCP connections of this process to any of {@code remotePorts} on IPv4 loopback:
   * this process's socket inodes (from {@code /proc/self/fd}) matched with {@code /proc/net/tcp}.
   */
  public static int establishedConnectionsTo(Set<Integer> remotePorts) {
    Set<String> inodes = new HashSet<>();
    try (DirectoryStream<Path> fds = Files.newDirectoryStream(Paths.get("/proc/self/fd"))) {
      for (Path fd : fds) {
        try {
          String link = Files.readSymbolicLink(fd).toString();
          if (link.startsWith("socket:[")) {
            inodes.add(link.substring(8, link.length() - 1));
          }
        } catch (IOException e) {
          // closed while listing
        }
      }
      int count = 0;
      // Java's sockets are IPv6 (dual-stack) unless told otherwise: loopback IPv4 peers then show
      // up in tcp6 as ::ffff:127.0.0.1.
      for (String table : List.of("/proc/net/tcp", "/proc/net/tcp6")) {
        Path file = Paths.get(table);
        if (!Files.exists(file)) {
          continue;
        }
        List<String> lines = Files.readAllLines(file, StandardCharsets.US_ASCII);
        for (String line : lines.subList(1, lines.size())) {
          String[] f = line.trim().split("\\s+", -1);
          // f[2] rem_address "0100007F:1F90", f[3] state (01 = ESTABLISHED), f[9] inode
          if (f.length > 9 && "01".equals(f[3]) && inodes.contains(f[9])) {
            int port = Integer.parseInt(f[2].substring(f[2].indexOf(':') + 1), 16);
            if (remotePorts.contains(port)) {
              count++;
            }
          }
        }
      }
      return count;
    } catch (IOException e) {
      return -1;
    }
  }

  /** A human-readable µs figure. */
  static String micros(double nanos) {
    return String.format(Locale.ROOT, "%.1f", nanos / 1000.0);
  }
}
