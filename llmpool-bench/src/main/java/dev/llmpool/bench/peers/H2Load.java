package dev.llmpool.bench.peers;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * nghttp2's h2load, the C reference: the same request against the same nginx, so the tables show
 * how far the JVM clients are from a lean native load generator. h2load keeps N connections for
 * HTTP/1.1 (it has no queue), and for HTTP/2 {@code ceil(N/128)} connections with N streams spread
 * over them (nginx allows 128 streams per connection). It does not verify the certificate. It
 * reports no percentiles, so its latency and allocation columns stay empty (-1 in the files); its
 * CPU is read from the wrapping shell's {@code cutime + cstime} and counted over its warm-up as
 * well, so it is scaled to the measured part.
 */
final class H2Load {
  private static final Pattern FINISHED =
      Pattern.compile("finished in ([0-9.]+)(m?s), ([0-9.]+) req/s");
  private static final Pattern REQUESTS =
      Pattern.compile(
          "requests: (\\d+) total, (\\d+) started, (\\d+) done, (\\d+) succeeded, (\\d+) failed, (\\d+) errored, (\\d+) timeout");
  private static final Pattern MEAN =
      Pattern.compile("time for request:\\s+\\S+\\s+\\S+\\s+(\\S+)");

  private H2Load() {}

  static Results.Cell run(
      String h2load,
      Target target,
      Path requestFile,
      Protocol p,
      int concurrency,
      Duration settle,
      Duration measure,
      Meters meters,
      long clockTicks)
      throws IOException, InterruptedException {
    String tag = "h2load/" + p.key() + "/c" + concurrency;
    List<String> cmd = new ArrayList<>();
    // The shell reports its waited-for child's CPU from its own /proc/$$/stat.
    cmd.add("sh");
    cmd.add("-c");
    cmd.add("\"$0\" \"$@\"; s=$?; echo; echo \"STAT $(cat /proc/$$/stat)\"; exit $s");
    cmd.add(h2load);
    int connections;
    int streams;
    if (p == Protocol.H1) {
      cmd.add("--h1");
      connections = concurrency;
      streams = 1;
    } else {
      connections = (concurrency + 127) / 128;
      streams = concurrency / connections;
    }
    cmd.addAll(
        List.of("-c", Integer.toString(connections), "-m", Integer.toString(streams), "-t", "1"));
    long settleSeconds = Math.max(1, Math.round(settle.toNanos() / 1e9));
    long measureSeconds = Math.max(1, Math.round(measure.toNanos() / 1e9));
    cmd.addAll(
        List.of(
            "-D", Long.toString(measureSeconds), "--warm-up-time", Long.toString(settleSeconds)));
    cmd.addAll(List.of("-d", requestFile.toString()));
    cmd.addAll(List.of("-H", "authorization: " + target.authorization()));
    cmd.addAll(List.of("-H", "content-type: application/json"));
    cmd.addAll(List.of("-H", Target.CELL_HEADER + ": " + tag));
    cmd.add(target.uri(p, target.chatPath()).toString());
    long nginxBefore = meters.nginxCpuNanos();
    long machineBefore = meters.machineCpuNanos();
    long wallBefore = System.nanoTime();
    Process proc = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(proc.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    int exit = proc.waitFor();
    long nginx = meters.nginxCpuNanos() - nginxBefore;
    long machineAfter = meters.machineCpuNanos();
    long wall = System.nanoTime() - wallBefore;
    Matcher f = FINISHED.matcher(out);
    Matcher r = REQUESTS.matcher(out);
    if (exit != 0 || !f.find() || !r.find()) {
      String tail = out.length() > 400 ? out.substring(out.length() - 400) : out;
      return Results.Cell.skipped(
          "h2load", p, concurrency, Results.FAILED, "h2load exit " + exit + ": " + tail.trim());
    }
    double seconds = Double.parseDouble(f.group(1)) / (f.group(2).equals("ms") ? 1000 : 1);
    double rps = Double.parseDouble(f.group(3));
    long succeeded = Long.parseLong(r.group(4));
    long errors =
        Long.parseLong(r.group(5)) + Long.parseLong(r.group(6)) + Long.parseLong(r.group(7));
    long cpu = 0;
    for (String line : out.split("\n", -1)) {
      if (line.startsWith("STAT ")) {
        cpu = Meters.cpuNanosFromStat(line.substring(5), clockTicks, true);
      }
    }
    double measuredShare = (double) measureSeconds / (measureSeconds + settleSeconds);
    double perReq = Math.max(succeeded, 1);
    Matcher mean = MEAN.matcher(out);
    String note =
        connections
            + " connection(s) × "
            + streams
            + " stream(s); mean latency "
            + (mean.find() ? mean.group(1) : "?")
            + "; no percentiles from h2load";
    ClientRunner.log(
        "%-14s %-4s c=%-4d %,9.0f req/s  cpu %5.1f µs/req  nginx %4.1f µs/req  errors %d",
        "h2load",
        p.key(),
        concurrency,
        rps,
        cpu * measuredShare / perReq / 1000,
        nginx * measuredShare / perReq / 1000,
        errors);
    return new Results.Cell(
        "h2load",
        p.key(),
        concurrency,
        Results.OK,
        note,
        tag,
        seconds,
        succeeded,
        errors,
        rps,
        -1,
        -1,
        -1,
        -1,
        cpu * measuredShare / perReq / 1000,
        -1,
        nginx * measuredShare / perReq / 1000,
        -1,
        // over h2load's whole run (warm-up too); the harness JVM waits meanwhile
        Meters.otherCpuPercent(
            machineBefore < 0 || machineAfter < 0 ? -1 : machineAfter - machineBefore,
            cpu + nginx,
            wall));
  }
}
