package dev.llmpool.bench.peers;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.lang.management.ManagementFactory;
import java.net.URI;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;

/**
 * One client in one JVM: a time-based JIT warm-up, then every matrix cell and streaming cell of
 * that client ({@code --phases=matrix,stream}), or the idle-connection memory probe ({@code
 * --phases=memory}, in a JVM of its own so the matrix leaves nothing behind). Writes a {@link
 * Results.ClientRun} as JSON to {@code --out}. {@link PeerBench} starts it; the arguments are
 * listed in {@code llmpool-bench/peers.sh}.
 */
public final class ClientRunner {
  private ClientRunner() {}

  /** Entry point of a client's JVM. */
  public static void main(String[] argv) throws Exception {
    Args args = new Args(argv, 0);
    PeerClientFactory factory = Peers.byName(args.required("client"));
    Target target = target(args);
    Meters meters = new Meters(args.longValue("nginx-pid", 0), args.longValue("clk-tck", 100));
    List<String> phases = args.list("phases", "matrix,stream");
    List<Protocol> protocols = args.protocols("protocols", "h1,h2,h2c");
    ScheduledExecutorService retry =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "bench-retry");
              t.setDaemon(true);
              return t;
            });
    List<Results.Cell> cells = new ArrayList<>();
    List<Results.StreamCell> streams = new ArrayList<>();
    List<Results.Memory> memory = new ArrayList<>();
    Duration warmup = args.seconds("warmup", 10);
    double warmedSeconds = 0;
    if (phases.contains("matrix") || phases.contains("stream")) {
      warmedSeconds = warmUp(factory, target, protocols, warmup, meters, retry);
    }
    if (phases.contains("matrix")) {
      Duration settle = args.seconds("settle", 1);
      Duration measure = args.seconds("measure", 4);
      for (Protocol p : protocols) {
        for (int c : args.integers("concurrency", "1,16,64,256")) {
          cells.add(cell(factory, target, p, c, settle, measure, meters, retry));
        }
      }
    }
    if (phases.contains("stream")) {
      Duration settle = args.seconds("stream-settle", 0.5);
      Duration measure = args.seconds("stream-measure", 3);
      for (Protocol p : args.protocols("stream-protocols", "h1,h2")) {
        for (String mode : args.list("stream-modes", "paced,burst")) {
          for (int c : args.integers("stream-concurrency", "16")) {
            streams.add(streamCell(factory, target, p, mode, c, settle, measure, meters, retry));
          }
        }
      }
    }
    if (phases.contains("memory")) {
      for (Protocol p : args.protocols("memory-protocols", "h1,h2")) {
        memory.add(MemoryProbe.run(factory, target, p, args.integer("memory-connections", 1000)));
      }
    }
    Results.ClientRun run =
        new Results.ClientRun(
            factory.name(),
            factory.description(),
            factory.settings(PoolSettings.MATRIX),
            System.getProperty("java.vm.name") + " " + Runtime.version(),
            ManagementFactory.getRuntimeMXBean().getInputArguments(),
            warmedSeconds,
            cells,
            streams,
            memory,
            -1);
    Path out = Paths.get(args.required("out"));
    new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(out.toFile(), run);
    retry.shutdownNow();
    // Some clients leave non-daemon threads behind after close (pools that end on idle).
    System.exit(0);
  }

  static Target target(Args args) {
    return new Target(
        args.string("host", "127.0.0.1"),
        args.integer("h1-port", 28080),
        args.integer("tls-port", 28443),
        args.integer("h2c-port", 28082),
        Paths.get(args.required("ca")),
        args.string("token", "sk-bench-0000000000000000000000000000000000000000"),
        args.integer("memory-base-port", 28500),
        args.integer("memory-ports", 0));
  }

  /** Runs the client at concurrency 32 on each protocol in turn, {@code total} in all. */
  private static double warmUp(
      PeerClientFactory factory,
      Target target,
      List<Protocol> protocols,
      Duration total,
      Meters meters,
      ScheduledExecutorService retry)
      throws Exception {
    List<Protocol> supported = new ArrayList<>();
    for (Protocol p : protocols) {
      if (factory.unsupported(p) == null) {
        supported.add(p);
      }
    }
    if (supported.isEmpty() || total.isZero()) {
      return 0;
    }
    Duration slice = total.dividedBy(supported.size());
    long start = System.nanoTime();
    for (Protocol p : supported) {
      String tag = factory.name() + "/warmup/" + p.key();
      try (PeerClient client = factory.open(target, p, PoolSettings.MATRIX, tag)) {
        Results.Cell c =
            LoadDriver.run(
                factory.name(),
                p,
                32,
                tag,
                client,
                target.uri(p, target.chatPath()),
                Payloads.chatAnswer().length,
                Duration.ZERO,
                slice,
                meters,
                retry);
        log(
            "%-14s warm-up %-4s %,9.0f req/s%s",
            factory.name(),
            p.key(),
            c.requestsPerSecond(),
            c.errors() > 0 ? "  errors " + c.errors() + ": " + c.note() : "");
      } catch (Exception e) {
        // The cells will show the failure; the other protocols still warm up.
        log("%-14s warm-up %-4s failed: %s", factory.name(), p.key(), LoadDriver.describe(e));
      }
    }
    return (System.nanoTime() - start) / 1e9;
  }

  private static Results.Cell cell(
      PeerClientFactory factory,
      Target target,
      Protocol p,
      int concurrency,
      Duration settle,
      Duration measure,
      Meters meters,
      ScheduledExecutorService retry) {
    String unsupported = factory.unsupported(p);
    if (unsupported != null) {
      return Results.Cell.skipped(factory.name(), p, concurrency, Results.UNSUPPORTED, unsupported);
    }
    String tag = factory.name() + "/" + p.key() + "/c" + concurrency;
    Results.Cell c;
    try (PeerClient client = factory.open(target, p, PoolSettings.MATRIX, tag)) {
      URI uri = target.uri(p, target.chatPath());
      c =
          LoadDriver.run(
              factory.name(),
              p,
              concurrency,
              tag,
              client,
              uri,
              Payloads.chatAnswer().length,
              settle,
              measure,
              meters,
              retry);
    } catch (Exception e) {
      c =
          Results.Cell.skipped(
              factory.name(), p, concurrency, Results.FAILED, LoadDriver.describe(e));
    }
    log(
        "%-14s %-4s c=%-4d %,9.0f req/s  p50 %7.0f µs  p99 %7.0f µs  p999 %7.0f µs  cpu %5.1f µs/req  alloc %,7.0f B/req  nginx %4.1f µs/req  errors %d%s",
        factory.name(),
        p.key(),
        concurrency,
        c.requestsPerSecond(),
        c.p50Micros(),
        c.p99Micros(),
        c.p999Micros(),
        c.cpuMicrosPerRequest(),
        c.allocatedBytesPerRequest(),
        c.nginxCpuMicrosPerRequest(),
        c.errors(),
        c.note() == null ? "" : "  (" + c.note() + ")");
    return c;
  }

  private static Results.StreamCell streamCell(
      PeerClientFactory factory,
      Target target,
      Protocol p,
      String mode,
      int concurrency,
      Duration settle,
      Duration measure,
      Meters meters,
      ScheduledExecutorService retry) {
    String unsupported = factory.unsupported(p);
    if (unsupported != null) {
      return Results.StreamCell.skipped(
          factory.name(), p, mode, concurrency, Results.UNSUPPORTED, unsupported);
    }
    String tag = factory.name() + "/stream-" + mode + "/" + p.key() + "/c" + concurrency;
    String path = mode.equals("burst") ? target.burstStreamPath() : target.pacedStreamPath();
    Results.StreamCell c;
    try (PeerClient client = factory.open(target, p, PoolSettings.MATRIX, tag)) {
      c =
          StreamDriver.run(
              factory.name(),
              p,
              mode,
              concurrency,
              tag,
              client,
              target.uri(p, path),
              settle,
              measure,
              meters,
              retry);
    } catch (Exception e) {
      c =
          Results.StreamCell.skipped(
              factory.name(), p, mode, concurrency, Results.FAILED, LoadDriver.describe(e));
    }
    log(
        "%-14s stream %-5s %-4s c=%-3d %,9.0f tokens/s  ttft p50 %7.0f µs  p99 %7.0f µs  cpu %5.2f µs/token  alloc %,6.0f B/token  errors %d%s",
        factory.name(),
        mode,
        p.key(),
        concurrency,
        c.tokensPerSecond(),
        c.ttftP50Micros(),
        c.ttftP99Micros(),
        c.cpuMicrosPerToken(),
        c.allocatedBytesPerToken(),
        c.errors(),
        c.note() == null ? "" : "  (" + c.note() + ")");
    return c;
  }

  @SuppressWarnings("SystemOut") // progress of a command-line tool
  static void log(String format, Object... args) {
    System.out.println(String.format(Locale.ROOT, format, args));
    System.out.flush();
  }
}
