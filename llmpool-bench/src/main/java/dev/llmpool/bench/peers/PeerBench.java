package dev.llmpool.bench.peers;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * The orchestrator {@code llmpool-bench/peers.sh} calls:
 *
 * <ul>
 *   <li>{@code files --dir=D [--gap-ms=2]}: writes what nginx serves (the chat answer, the SSE
 *       answer, the paced SSE directives) and the request body h2load sends.
 *   <li>{@code run …}: one JVM per client ({@link ClientRunner}) with the same flags, h2load as the
 *       C reference, then connection counts from nginx's log, and {@code results.json}, {@code
 *       results.csv}, {@code results.md} and the charts in {@code --out}.
 *   <li>{@code report --results=R.json --out=D}: the Markdown, CSV and charts again from a JSON.
 * </ul>
 */
public final class PeerBench {
  private static final ObjectMapper JSON =
      new ObjectMapper()
          .enable(SerializationFeature.INDENT_OUTPUT)
          .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

  private PeerBench() {}

  /** Entry point; see the class comment. */
  public static void main(String[] argv) throws Exception {
    if (argv.length == 0) {
      throw new IllegalArgumentException("usage: PeerBench files|run|report --name=value…");
    }
    Args args = new Args(argv, 1);
    switch (argv[0]) {
      case "files" -> files(args);
      case "run" -> run(args);
      case "report" -> report(args);
      default -> throw new IllegalArgumentException("unknown command " + argv[0]);
    }
  }

  private static void files(Args args) throws IOException {
    Path dir = Paths.get(args.required("dir"));
    Files.createDirectories(dir);
    Files.write(dir.resolve("chat.json"), Payloads.chatAnswer());
    Files.write(dir.resolve("stream.sse"), Payloads.streamAnswer());
    Files.write(dir.resolve("request.json"), Payloads.chatRequest(false));
    Files.writeString(dir.resolve("chat.inc"), Payloads.chatDirective(), StandardCharsets.UTF_8);
    Files.writeString(
        dir.resolve("paced.inc"),
        Payloads.pacedDirectives(args.integer("gap-ms", 2)),
        StandardCharsets.UTF_8);
    ClientRunner.log(
        "request %d bytes, answer %d bytes, SSE answer %d bytes (%d tokens)",
        Payloads.chatRequest(false).length,
        Payloads.chatAnswer().length,
        Payloads.streamAnswer().length,
        Payloads.STREAM_TOKENS);
  }

  private static void run(Args args) throws Exception {
    Path out = Paths.get(args.required("out"));
    Files.createDirectories(out);
    String loadBefore = loadAverage();
    long master = args.longValue("nginx-master", 0);
    long worker = nginxWorker(master);
    long clk = args.longValue("clk-tck", 100);
    List<String> flags = List.of(args.string("jvm-flags", "").trim().split("\\s+", -1));
    List<String> phases = args.list("phases", "matrix,stream,memory");
    List<String> common = new ArrayList<>();
    common.addAll(
        args.passThrough(
            "protocols",
            "concurrency",
            "warmup",
            "settle",
            "measure",
            "stream-settle",
            "stream-measure",
            "stream-concurrency",
            "stream-modes",
            "stream-protocols",
            "memory-protocols",
            "memory-connections",
            "host",
            "h1-port",
            "tls-port",
            "h2c-port",
            "ca",
            "token",
            "memory-base-port",
            "memory-ports"));
    common.add("--nginx-pid=" + worker);
    common.add("--clk-tck=" + clk);

    List<Results.ClientRun> runs = new ArrayList<>();
    for (PeerClientFactory f : Peers.select(args.string("clients", "all"))) {
      List<String> timed = new ArrayList<>();
      for (String p : phases) {
        if (p.equals("matrix") || p.equals("stream")) {
          timed.add(p);
        }
      }
      Results.ClientRun run = null;
      if (!timed.isEmpty()) {
        run =
            child(
                args,
                flags,
                common,
                f,
                String.join(",", timed),
                out.resolve("client-" + f.name() + ".json"));
      }
      if (phases.contains("memory") && f.measuresMemory()) {
        Results.ClientRun mem =
            child(
                args,
                flags,
                common,
                f,
                "memory",
                out.resolve("client-" + f.name() + "-memory.json"));
        if (mem != null) {
          run =
              run == null
                  ? mem
                  : new Results.ClientRun(
                      run.client(),
                      run.description(),
                      run.settings(),
                      run.jvm(),
                      run.jvmFlags(),
                      run.warmupSeconds(),
                      run.cells(),
                      run.streams(),
                      mem.memory(),
                      -1);
        }
      }
      if (run != null) {
        runs.add(run);
      }
    }

    List<Results.Cell> reference = new ArrayList<>();
    String h2load = args.string("h2load", "");
    if (!h2load.isEmpty() && phases.contains("matrix")) {
      Target target = ClientRunner.target(args);
      Meters meters = new Meters(worker, clk);
      Path request = Paths.get(args.required("dir")).resolve("request.json");
      for (Protocol p : args.protocols("protocols", "h1,h2,h2c")) {
        for (int c : args.integers("concurrency", "1,16,64,256")) {
          reference.add(
              H2Load.run(
                  h2load,
                  target,
                  request,
                  p,
                  c,
                  args.seconds("settle", 1),
                  args.seconds("measure", 4),
                  meters,
                  clk));
        }
      }
    }

    // nginx writes its log buffer at least every second (flush=1s): wait for the last one.
    LoadDriver.parkFor(java.time.Duration.ofMillis(1500));
    NginxLog.Counts counts = NginxLog.read(Paths.get(args.required("dir")));
    counts
        .non200()
        .forEach(
            (tag, n) ->
                ClientRunner.log(
                    "nginx answered %d requests of %s with a status other than 200", n, tag));
    List<Results.ClientRun> counted = new ArrayList<>();
    for (Results.ClientRun r : runs) {
      List<Results.Cell> cells = new ArrayList<>();
      for (Results.Cell c : r.cells()) {
        cells.add(c.tag().isEmpty() ? c : c.withConnections(counts.opened(c.tag())));
      }
      counted.add(
          new Results.ClientRun(
              r.client(),
              r.description(),
              r.settings(),
              r.jvm(),
              r.jvmFlags(),
              r.warmupSeconds(),
              cells,
              r.streams(),
              r.memory(),
              counts.openedByClient(r.client())));
    }
    List<Results.Cell> ref = new ArrayList<>();
    for (Results.Cell c : reference) {
      ref.add(c.tag().isEmpty() ? c : c.withConnections(counts.opened(c.tag())));
    }

    Map<String, String> durations = new LinkedHashMap<>();
    durations.put("JIT warm-up per JVM", args.string("warmup", "10") + " s");
    durations.put("per cell: settle", args.string("settle", "1") + " s");
    durations.put("then measure", args.string("measure", "4") + " s");
    durations.put("per streaming cell: settle", args.string("stream-settle", "0.5") + " s");
    durations.put("then measure for", args.string("stream-measure", "3") + " s");
    durations.put("paced SSE gap", args.string("gap-ms", "2") + " ms per token");
    String jdk =
        counted.isEmpty()
            ? System.getProperty("java.vm.name") + " " + Runtime.version()
            : counted.get(0).jvm();
    Results.Meta meta =
        new Results.Meta(
            ZonedDateTime.now(ZoneOffset.UTC)
                .format(DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm 'UTC'", Locale.ROOT)),
            args.string("command", "llmpool-bench/peers.sh"),
            System.getProperty("os.name") + " " + System.getProperty("os.version"),
            // The machine's, not this JVM's: the script may pin the clients to some of them.
            Integer.parseInt(
                args.string("cpus", Integer.toString(Runtime.getRuntime().availableProcessors()))),
            cpuModel(),
            memoryBytes(),
            jdk,
            flags,
            args.string("nginx-version", "nginx")
                + ", 1 worker, on 127.0.0.1"
                + args.string("placement", ""),
            durations,
            loadBefore,
            loadAverage(),
            args.string("label", "run"));
    Results.Run run = new Results.Run(meta, counted, ref);
    write(run, out);
    ClientRunner.log("results: %s", out.resolve("results.md"));
  }

  private static void report(Args args) throws IOException {
    Results.Run run =
        JSON.readValue(Paths.get(args.required("results")).toFile(), Results.Run.class);
    write(run, Paths.get(args.required("out")));
  }

  private static void write(Results.Run run, Path out) throws IOException {
    Files.createDirectories(out);
    JSON.writeValue(out.resolve("results.json").toFile(), run);
    Files.writeString(out.resolve("results.csv"), Report.csv(run), StandardCharsets.UTF_8);
    Files.writeString(out.resolve("results.md"), Report.markdown(run, ""), StandardCharsets.UTF_8);
    Report.charts(run, out);
  }

  /** Starts one client's JVM, waits for it, and reads what it wrote. */
  private static Results.@org.jspecify.annotations.Nullable ClientRun child(
      Args args,
      List<String> flags,
      List<String> common,
      PeerClientFactory f,
      String phases,
      Path result)
      throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>();
    cmd.add(args.string("java", "java"));
    for (String flag : flags) {
      if (!flag.isEmpty()) {
        cmd.add(flag);
      }
    }
    cmd.addAll(List.of("-cp", args.required("classpath"), ClientRunner.class.getName()));
    cmd.add("--client=" + f.name());
    cmd.add("--phases=" + phases);
    cmd.addAll(common);
    cmd.add("--out=" + result);
    Files.deleteIfExists(result);
    Process p = new ProcessBuilder(cmd).inheritIO().start();
    if (!p.waitFor(40, TimeUnit.MINUTES)) {
      p.destroyForcibly();
      ClientRunner.log("%s: JVM did not finish in 40 minutes, stopped", f.name());
      return null;
    }
    if (p.exitValue() != 0 || !Files.exists(result)) {
      ClientRunner.log("%s: JVM exited with %d, no results", f.name(), p.exitValue());
      return null;
    }
    return JSON.readValue(result.toFile(), Results.ClientRun.class);
  }

  private static long nginxWorker(long master) {
    if (master <= 0) {
      return 0;
    }
    Optional<ProcessHandle> worker =
        ProcessHandle.of(master).flatMap(m -> m.children().findFirst());
    return worker.map(ProcessHandle::pid).orElse(0L);
  }

  private static String loadAverage() {
    try {
      String[] f =
          Files.readString(Paths.get("/proc/loadavg"), StandardCharsets.US_ASCII).split(" ", -1);
      return f[0] + " " + f[1] + " " + f[2];
    } catch (IOException | RuntimeException e) {
      return "?";
    }
  }

  private static String cpuModel() {
    try {
      for (String line :
          Files.readAllLines(Paths.get("/proc/cpuinfo"), StandardCharsets.US_ASCII)) {
        if (line.startsWith("model name")) {
          return line.substring(line.indexOf(':') + 1).trim();
        }
      }
    } catch (IOException e) {
      return "?";
    }
    return "?";
  }

  private static long memoryBytes() {
    try {
      for (String line :
          Files.readAllLines(Paths.get("/proc/meminfo"), StandardCharsets.US_ASCII)) {
        if (line.startsWith("MemTotal:")) {
          String v = line.substring(9).trim();
          return Long.parseLong(v.substring(0, v.indexOf(' '))) * 1024;
        }
      }
    } catch (IOException | RuntimeException e) {
      return -1;
    }
    return -1;
  }
}
