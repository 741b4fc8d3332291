package dev.llmpool.bench.peers;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.style.Styler;

/** Turns a {@link Results.Run} into Markdown tables, CSV and charts. */
final class Report {
  /** The concurrency of the summary table and the charts (the targets are set there). */
  static final int SUMMARY_CONCURRENCY = 64;

  private Report() {}

  static String markdown(Results.Run run, String chartPrefix) {
    Results.Meta m = run.meta();
    StringBuilder md = new StringBuilder();
    md.append("### Results: ").append(m.label()).append("\n\n");
    md.append("- Date: ").append(m.date()).append("\n");
    md.append("- Command: `").append(m.command()).append("`\n");
    md.append("- Machine: ")
        .append(m.cpus())
        .append(" CPUs (")
        .append(m.cpuModel())
        .append("), ")
        .append(m.memoryBytes() / (1024L * 1024 * 1024))
        .append(" GiB memory, ")
        .append(m.machine())
        .append("\n");
    md.append("- JVM: ")
        .append(m.jdk())
        .append(", flags `")
        .append(String.join(" ", m.jvmFlags()))
        .append("`\n");
    md.append("- Server: ").append(m.nginx()).append("\n");
    md.append("- Durations: ");
    List<String> d = new ArrayList<>();
    m.durations().forEach((k, v) -> d.add(k + " " + v));
    md.append(String.join(", ", d)).append("\n");
    md.append("- Load average (1/5/15 min) before: ")
        .append(m.loadBefore())
        .append("; after: ")
        .append(m.loadAfter())
        .append("\n\n");

    List<Results.Cell> cells = allCells(run);
    Set<String> clients = new LinkedHashSet<>();
    for (Results.Cell c : cells) {
      clients.add(c.client());
    }
    if (!cells.isEmpty()) {
      md.append("#### At concurrency ").append(SUMMARY_CONCURRENCY).append("\n\n");
      md.append("| client |");
      for (Protocol p : Protocol.values()) {
        md.append(" ").append(p.label()).append(" req/s | CPU µs/req |");
      }
      md.append("\n|---|");
      for (int i = 0; i < Protocol.values().length; i++) {
        md.append("--:|--:|");
      }
      md.append("\n");
      for (String client : clients) {
        md.append("| ").append(client).append(" |");
        for (Protocol p : Protocol.values()) {
          Results.Cell c = find(cells, client, p, SUMMARY_CONCURRENCY);
          if (c == null || !c.status().equals(Results.OK)) {
            md.append(" ").append(c == null ? "" : c.status()).append(" | |");
          } else {
            md.append(" ")
                .append(num(c.requestsPerSecond(), 0))
                .append(" | ")
                .append(num(c.cpuMicrosPerRequest(), 1))
                .append(" |");
          }
        }
        md.append("\n");
      }
      md.append("\n![Throughput at concurrency ")
          .append(SUMMARY_CONCURRENCY)
          .append("](")
          .append(chartPrefix)
          .append("peers-throughput.png)\n\n![Client CPU per request at concurrency ")
          .append(SUMMARY_CONCURRENCY)
          .append("](")
          .append(chartPrefix)
          .append("peers-cpu.png)\n\n");

      for (Protocol p : Protocol.values()) {
        md.append("#### ").append(p.label()).append("\n\n");
        md.append(
            "| client | conc. | req/s | p50 µs | p99 µs | p99.9 µs | CPU µs/req | alloc KB/req | conns opened | errors | nginx CPU µs/req | nginx busy % | other CPU % |\n");
        md.append("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n");
        Set<String> unsupported = new LinkedHashSet<>();
        for (Results.Cell c : cells) {
          if (!c.protocol().equals(p.key())) {
            continue;
          }
          if (c.status().equals(Results.UNSUPPORTED) || c.status().equals(Results.NOT_APPLICABLE)) {
            unsupported.add("**" + c.client() + "**: " + c.status() + " (" + c.note() + ")");
            continue;
          }
          if (!c.status().equals(Results.OK)) {
            md.append("| ")
                .append(c.client())
                .append(" | ")
                .append(c.concurrency())
                .append(" | failed: ")
                .append(escape(String.valueOf(c.note())))
                .append(" | | | | | | | | | | |\n");
            continue;
          }
          md.append("| ")
              .append(c.client())
              .append(" | ")
              .append(c.concurrency())
              .append(" | ")
              .append(num(c.requestsPerSecond(), 0))
              .append(" | ")
              .append(num(c.p50Micros(), 0))
              .append(" | ")
              .append(num(c.p99Micros(), 0))
              .append(" | ")
              .append(num(c.p999Micros(), 0))
              .append(" | ")
              .append(num(c.cpuMicrosPerRequest(), 1))
              .append(" | ")
              .append(
                  c.allocatedBytesPerRequest() < 0
                      ? "—"
                      : num(c.allocatedBytesPerRequest() / 1024, 1))
              .append(" | ")
              .append(c.connectionsOpened() < 0 ? "—" : Long.toString(c.connectionsOpened()))
              .append(" | ")
              .append(c.errors())
              .append(" | ")
              .append(num(c.nginxCpuMicrosPerRequest(), 1))
              .append(" | ")
              .append(num(c.nginxCpuMicrosPerRequest() * c.requestsPerSecond() / 1e4, 0))
              .append(" | ")
              .append(c.otherCpuPercent() < 0 ? "—" : num(c.otherCpuPercent(), 0))
              .append(" |\n");
        }
        md.append("\n");
        for (String u : unsupported) {
          md.append("- ").append(escape(u)).append("\n");
        }
        if (!unsupported.isEmpty()) {
          md.append("\n");
        }
      }
      List<String> notes = new ArrayList<>();
      for (Results.Cell c : cells) {
        if (c.status().equals(Results.OK) && c.errors() > 0 && c.note() != null) {
          notes.add(c.client() + " " + c.protocol() + " c=" + c.concurrency() + ": " + c.note());
        }
      }
      if (!notes.isEmpty()) {
        md.append("Errors seen (first of each cell):\n\n");
        for (String n : notes) {
          md.append("- ").append(escape(n)).append("\n");
        }
        md.append("\n");
      }
    }

    md.append(targets(cells));
    List<Results.StreamCell> streams = new ArrayList<>();
    List<Results.Memory> memory = new ArrayList<>();
    for (Results.ClientRun c : run.clients()) {
      streams.addAll(c.streams());
      memory.addAll(c.memory());
    }
    if (!streams.isEmpty()) {
      md.append("#### Streaming: ").append(Payloads.STREAM_TOKENS).append("-token SSE answers\n\n");
      md.append(
          "| client | protocol | mode | conc. | streams | tokens/s | TTFT p50 µs | TTFT p99 µs | stream p50 ms | CPU µs/token | alloc B/token | errors |\n");
      md.append("|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n");
      for (Results.StreamCell s : streams) {
        if (!s.status().equals(Results.OK)) {
          md.append("| ")
              .append(s.client())
              .append(" | ")
              .append(s.protocol())
              .append(" | ")
              .append(s.mode())
              .append(" | ")
              .append(s.concurrency())
              .append(" | ")
              .append(s.status())
              .append(": ")
              .append(escape(String.valueOf(s.note())))
              .append(" | | | | | | | |\n");
          continue;
        }
        md.append("| ")
            .append(s.client())
            .append(" | ")
            .append(s.protocol())
            .append(" | ")
            .append(s.mode())
            .append(" | ")
            .append(s.concurrency())
            .append(" | ")
            .append(s.streams())
            .append(" | ")
            .append(num(s.tokensPerSecond(), 0))
            .append(" | ")
            .append(num(s.ttftP50Micros(), 0))
            .append(" | ")
            .append(num(s.ttftP99Micros(), 0))
            .append(" | ")
            .append(num(s.streamP50Micros() / 1000, 1))
            .append(" | ")
            .append(num(s.cpuMicrosPerToken(), 2))
            .append(" | ")
            .append(num(s.allocatedBytesPerToken(), 0))
            .append(" | ")
            .append(s.errors())
            .append(" |\n");
      }
      md.append("\n");
    }
    if (!memory.isEmpty()) {
      md.append("#### Memory of idle pooled connections\n\n");
      md.append(
          "| client | protocol | connections held | added | heap B/conn | native B/conn | RSS MiB | RSS besides heap MiB | threads | note |\n");
      md.append("|---|---|--:|--:|--:|--:|--:|--:|--:|---|\n");
      for (Results.Memory x : memory) {
        if (!x.status().equals(Results.OK)) {
          md.append("| ")
              .append(x.client())
              .append(" | ")
              .append(x.protocol())
              .append(" | ")
              .append(x.status())
              .append(" | | | | | | | ")
              .append(escape(String.valueOf(x.note())))
              .append(" |\n");
          continue;
        }
        md.append("| ")
            .append(x.client())
            .append(" | ")
            .append(x.protocol())
            .append(" | ")
            .append(x.connections())
            .append(" | ")
            .append(x.connectionsAdded())
            .append(" | ")
            .append(signed(x.heapBytesPerConnection()))
            .append(" | ")
            .append(signed(x.nativeBytesPerConnection()))
            .append(" | ")
            .append(num(x.rssBytes() / 1048576.0, 1))
            .append(" | ")
            .append(num(x.nonHeapRssBytes() / 1048576.0, 1))
            .append(" | ")
            .append(x.threads())
            .append(" | ")
            .append(x.note() == null ? "" : escape(x.note()))
            .append(" |\n");
      }
      md.append("\n");
    }
    md.append("#### What ran\n\n");
    for (Results.ClientRun c : run.clients()) {
      md.append("- **")
          .append(c.client())
          .append("**: ")
          .append(escape(c.description()))
          .append(
              String.format(
                  Locale.ROOT,
                  " (warm-up %.1f s; %s connections opened over the run)",
                  c.warmupSeconds(),
                  c.connectionsOpened() < 0 ? "?" : Long.toString(c.connectionsOpened())))
          .append("\n");
      for (String s : c.settings()) {
        md.append("  - ").append(escape(s)).append("\n");
      }
    }
    if (!run.reference().isEmpty()) {
      md.append("- **h2load**: nghttp2's h2load, C reference; see the notes on method.\n");
    }
    return md.toString();
  }

  /** The client whose targets {@link #targets} checks. */
  static final String LLMPOOL = "llmpool";

  /**
   * Issue 10's targets for llmpool against the best peer of each cell (h2load, a C load generator,
   * is a reference, not a peer); empty when llmpool did not run.
   */
  static String targets(List<Results.Cell> cells) {
    List<String> rows = new ArrayList<>();
    for (Results.Cell own : cells) {
      if (!own.client().equals(LLMPOOL) || !own.status().equals(Results.OK)) {
        continue;
      }
      Results.Cell fastest = null;
      Results.Cell leanest = null;
      for (Results.Cell c : cells) {
        if (c.client().equals(LLMPOOL)
            || c.client().equals("h2load")
            || !c.status().equals(Results.OK)
            || !c.protocol().equals(own.protocol())
            || c.concurrency() != own.concurrency()) {
          continue;
        }
        if (fastest == null || c.requestsPerSecond() > fastest.requestsPerSecond()) {
          fastest = c;
        }
        if (leanest == null || c.cpuMicrosPerRequest() < leanest.cpuMicrosPerRequest()) {
          leanest = c;
        }
      }
      String cell = own.protocol() + " c=" + own.concurrency();
      if (fastest != null && leanest != null) {
        double ratio = own.requestsPerSecond() / fastest.requestsPerSecond();
        double need =
            own.concurrency() == SUMMARY_CONCURRENCY
                ? (own.protocol().equals("h1") ? 1.2 : 1.3)
                : 1.0;
        rows.add(
            row(
                cell,
                "throughput ≥ " + need + "× best peer (" + fastest.client() + ")",
                String.format(Locale.ROOT, "%.2f×", ratio),
                ratio >= need));
        rows.add(
            row(
                cell,
                "CPU/req ≤ leanest peer ("
                    + leanest.client()
                    + " "
                    + num(leanest.cpuMicrosPerRequest(), 1)
                    + " µs)",
                num(own.cpuMicrosPerRequest(), 1) + " µs",
                own.cpuMicrosPerRequest() <= leanest.cpuMicrosPerRequest()));
        if (own.concurrency() == 1) {
          Results.Cell quickest = null;
          for (Results.Cell c : cells) {
            if (!c.client().equals(LLMPOOL)
                && !c.client().equals("h2load")
                && c.status().equals(Results.OK)
                && c.protocol().equals(own.protocol())
                && c.concurrency() == 1
                && (quickest == null || c.p50Micros() < quickest.p50Micros())) {
              quickest = c;
            }
          }
          if (quickest != null) {
            rows.add(
                row(
                    cell,
                    "p50 ≤ best peer's ("
                        + quickest.client()
                        + " "
                        + num(quickest.p50Micros(), 0)
                        + " µs)",
                    num(own.p50Micros(), 0) + " µs",
                    own.p50Micros() <= quickest.p50Micros()));
          }
        }
      }
      rows.add(
          row(
              cell,
              "allocation ≤ 4 KB/req",
              num(own.allocatedBytesPerRequest(), 0) + " B",
              own.allocatedBytesPerRequest() <= 4096));
      if (own.concurrency() == 256) {
        rows.add(
            row(
                cell,
                "p99.9 ≤ 3× p50",
                num(own.p999Micros(), 0) + " µs vs p50 " + num(own.p50Micros(), 0) + " µs",
                own.p999Micros() <= 3 * own.p50Micros()));
      }
    }
    if (rows.isEmpty()) {
      return "";
    }
    return "#### llmpool's targets (issue 10)\n\n| cell | target | llmpool | met |\n|---|---|--:|---|\n"
        + String.join("", rows)
        + "\n";
  }

  private static String row(String cell, String target, String value, boolean met) {
    return "| "
        + cell
        + " | "
        + escape(target)
        + " | "
        + value
        + " | "
        + (met ? "yes" : "**no**")
        + " |\n";
  }

  static String csv(Results.Run run) {
    StringBuilder csv = new StringBuilder();
    csv.append(
        "client,protocol,concurrency,status,seconds,requests,errors,requests_per_second,p50_us,p99_us,p999_us,max_us,cpu_us_per_request,allocated_bytes_per_request,nginx_cpu_us_per_request,connections_opened,other_cpu_percent,note\n");
    for (Results.Cell c : allCells(run)) {
      csv.append(
          String.join(
              ",",
              c.client(),
              c.protocol(),
              Integer.toString(c.concurrency()),
              c.status(),
              plain(c.seconds(), 3),
              Long.toString(c.requests()),
              Long.toString(c.errors()),
              plain(c.requestsPerSecond(), 1),
              plain(c.p50Micros(), 1),
              plain(c.p99Micros(), 1),
              plain(c.p999Micros(), 1),
              plain(c.maxMicros(), 1),
              plain(c.cpuMicrosPerRequest(), 2),
              plain(c.allocatedBytesPerRequest(), 0),
              plain(c.nginxCpuMicrosPerRequest(), 2),
              Long.toString(c.connectionsOpened()),
              plain(c.otherCpuPercent(), 1),
              "\"" + String.valueOf(c.note() == null ? "" : c.note()).replace("\"", "'") + "\""));
      csv.append("\n");
    }
    return csv.toString();
  }

  /** Writes {@code peers-throughput.png} and {@code peers-cpu.png} into {@code dir}. */
  static List<Path> charts(Results.Run run, Path dir) throws IOException {
    List<Results.Cell> cells = allCells(run);
    Set<String> clients = new LinkedHashSet<>();
    for (Results.Cell c : cells) {
      if (c.concurrency() == SUMMARY_CONCURRENCY && c.status().equals(Results.OK)) {
        clients.add(c.client());
      }
    }
    List<Path> out = new ArrayList<>();
    if (clients.isEmpty()) {
      return out;
    }
    out.add(chart(cells, clients, dir.resolve("peers-throughput.png"), true, run.meta()));
    out.add(chart(cells, clients, dir.resolve("peers-cpu.png"), false, run.meta()));
    return out;
  }

  private static Path chart(
      List<Results.Cell> cells,
      Set<String> clients,
      Path file,
      boolean throughput,
      Results.Meta meta)
      throws IOException {
    CategoryChart chart =
        new CategoryChartBuilder()
            .width(1000)
            .height(520)
            .title(
                (throughput ? "Requests per second" : "Client CPU µs per request")
                    + " at concurrency "
                    + SUMMARY_CONCURRENCY
                    + " ("
                    + meta.label()
                    + ", "
                    + meta.date()
                    + ")")
            .xAxisTitle("client")
            .yAxisTitle(
                throughput ? "req/s (higher is better)" : "µs CPU per request (lower is better)")
            .build();
    chart.getStyler().setLegendPosition(Styler.LegendPosition.OutsideS);
    chart.getStyler().setLegendLayout(Styler.LegendLayout.Horizontal);
    chart.getStyler().setLabelsVisible(false);
    chart.getStyler().setAvailableSpaceFill(0.85);
    List<String> x = new ArrayList<>(clients);
    for (Protocol p : Protocol.values()) {
      List<Double> y = new ArrayList<>();
      boolean any = false;
      for (String client : x) {
        Results.Cell c = find(cells, client, p, SUMMARY_CONCURRENCY);
        double v = 0;
        if (c != null && c.status().equals(Results.OK)) {
          v = throughput ? c.requestsPerSecond() : Math.max(c.cpuMicrosPerRequest(), 0);
          any = true;
        }
        y.add(v);
      }
      if (any) {
        chart.addSeries(p.label(), x, y);
      }
    }
    String base = file.toString();
    BitmapEncoder.saveBitmap(
        chart, base.substring(0, base.length() - ".png".length()), BitmapEncoder.BitmapFormat.PNG);
    return file;
  }

  /** Client cells then the reference (h2load) cells. */
  static List<Results.Cell> allCells(Results.Run run) {
    List<Results.Cell> all = new ArrayList<>();
    for (Results.ClientRun c : run.clients()) {
      all.addAll(c.cells());
    }
    all.addAll(run.reference());
    return all;
  }

  private static Results.@org.jspecify.annotations.Nullable Cell find(
      List<Results.Cell> cells, String client, Protocol p, int concurrency) {
    for (Results.Cell c : cells) {
      if (c.client().equals(client)
          && c.protocol().equals(p.key())
          && c.concurrency() == concurrency) {
        return c;
      }
    }
    return null;
  }

  static String num(double v, int decimals) {
    if (v < 0 || Double.isNaN(v)) {
      return "—";
    }
    if (decimals == 0) {
      return String.format(Locale.ROOT, "%,.0f", v);
    }
    return String.format(Locale.ROOT, "%,." + decimals + "f", v);
  }

  /** A measured difference, which noise can make negative. */
  static String signed(double v) {
    return String.format(Locale.ROOT, "%,.0f", v);
  }

  /** A CSV number: no grouping, -1 when not measured. */
  static String plain(double v, int decimals) {
    if (Double.isNaN(v)) {
      return "-1";
    }
    return String.format(Locale.ROOT, "%." + decimals + "f", v);
  }

  private static String escape(String s) {
    return s.replace("|", "\\|").replace("\n", " ");
  }
}
