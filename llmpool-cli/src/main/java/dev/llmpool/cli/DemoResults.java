package dev.llmpool.cli;

import dev.llmpool.PoolStats;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/** The demo's figures: the JSON of {@code --json}, the table, the headline. */
final class DemoResults {

  /** What was compared and where. */
  record Setup(
      String target,
      @Nullable String model,
      @Nullable Double simulatedRttMs,
      double serverLatencyMs,
      StrategyRun.Workload workload) {}

  final Setup setup;
  final List<StrategyRun> runs;
  final Latencies connectTimes;
  final boolean interrupted;

  DemoResults(Setup setup, List<StrategyRun> runs, Latencies connectTimes, boolean interrupted) {
    this.setup = setup;
    this.runs = List.copyOf(runs);
    this.connectTimes = connectTimes;
    this.interrupted = interrupted;
  }

  /**
   * The round trip time: the simulated one, or against a real API the median TCP connect time (a
   * TCP handshake takes one round trip); null when nothing was measured.
   */
  @Nullable Double rttMs() {
    if (setup.simulatedRttMs() != null) {
      return setup.simulatedRttMs();
    }
    return Format.round1(connectTimes.percentileMs(50));
  }

  // ---------------------------------------------------------------- headline

  /** What pooling saved: the best pooled strategy against a new connection per call. */
  record Saving(String baseline, String best, double perCallMs, double perAgentRequestMs) {}

  @Nullable Saving saving() {
    StrategyRun baseline = find(Strategy.NEW_CONNECTION_PER_CALL);
    if (baseline == null || baseline.calls.count() == 0) {
      return null;
    }
    StrategyRun best = null;
    for (StrategyRun r : runs) {
      if (r.strategy.pooled()
          && r.calls.count() > 0
          && (best == null || r.calls.percentileMs(50) < best.calls.percentileMs(50))) {
        best = r;
      }
    }
    if (best == null) {
      return null;
    }
    return new Saving(
        baseline.strategy.label,
        best.strategy.label,
        baseline.calls.percentileMs(50) - best.calls.percentileMs(50),
        baseline.agentRequests.percentileMs(50) - best.agentRequests.percentileMs(50));
  }

  /** The one headline sentence. */
  String headline() {
    Saving s = saving();
    if (s == null) {
      return interrupted
          ? "Interrupted before there was a pooled strategy to compare with."
          : "Not enough calls succeeded to compare the strategies.";
    }
    String perAgent =
        Double.isNaN(s.perAgentRequestMs())
            ? ""
            : ", "
                + String.format(Locale.ROOT, "%.1f s", s.perAgentRequestMs() / 1000)
                + " per agent request of "
                + setup.workload().callsPerAgent()
                + " calls";
    if (s.perCallMs() <= 0) {
      return "Pooling saved nothing measurable here ("
          + s.best()
          + " vs "
          + s.baseline()
          + ", medians): with no network round trip to skip, there is little to save.";
    }
    return "Pooling saved "
        + String.format(Locale.ROOT, "%.0f ms", s.perCallMs())
        + " per call"
        + perAgent
        + " ("
        + s.best()
        + " vs "
        + s.baseline()
        + ", medians).";
  }

  // ---------------------------------------------------------------- table

  String table() {
    List<String[]> rows = new ArrayList<>();
    rows.add(
        new String[] {
          "",
          "",
          "",
          "call latency, ms",
          "",
          "",
          "",
          "first",
          "agent request, s",
          "",
          "connections",
          "TLS"
        });
    rows.add(
        new String[] {
          "strategy",
          "calls",
          "errors",
          "p50",
          "p90",
          "p99",
          "max",
          "call ms",
          "p50",
          "p99",
          "opened",
          "handshakes"
        });
    for (StrategyRun r : runs) {
      rows.add(
          new String[] {
            r.strategy.label,
            Integer.toString(r.callsMade()),
            Long.toString(r.errorCount()),
            Format.ms(r.calls.percentileMs(50)),
            Format.ms(r.calls.percentileMs(90)),
            Format.ms(r.calls.percentileMs(99)),
            Format.ms(r.calls.maxMs()),
            Format.ms(r.firstCallMs()),
            Format.seconds(r.agentRequests.percentileMs(50)),
            Format.seconds(r.agentRequests.percentileMs(99)),
            Long.toString(r.connectionsOpened()),
            Long.toString(r.tlsHandshakes())
          });
    }
    // Column widths; the two-line header's group titles span their columns.
    int cols = 12;
    int[] w = new int[cols];
    for (int i = 1; i < rows.size(); i++) {
      for (int c = 0; c < cols; c++) {
        w[c] = Math.max(w[c], rows.get(i)[c].length());
      }
    }
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < rows.size(); i++) {
      String[] row = rows.get(i);
      StringBuilder line = new StringBuilder();
      if (i == 0) {
        // group titles, right-aligned over their groups
        line.append(Format.left("", w[0] + 2 + w[1] + 2 + w[2]));
        line.append("  ").append(Format.right(row[3], w[3] + 2 + w[4] + 2 + w[5] + 2 + w[6]));
        line.append("  ").append(Format.right(row[7], w[7]));
        line.append("  ").append(Format.right(row[8], w[8] + 2 + w[9]));
        line.append("  ").append(Format.right(row[10], w[10]));
        line.append("  ").append(Format.right(row[11], w[11]));
      } else {
        line.append(Format.left(row[0], w[0]));
        for (int c = 1; c < cols; c++) {
          line.append("  ").append(Format.right(row[c], w[c]));
        }
      }
      sb.append(line.toString().stripTrailing()).append('\n');
    }
    return sb.toString();
  }

  // ---------------------------------------------------------------- JSON

  Map<String, Object> toJson() {
    Map<String, Object> root = new LinkedHashMap<>();
    root.put("rtt_ms", rttMs());
    root.put(
        "rtt_source",
        setup.simulatedRttMs() != null
            ? "simulated by the latency proxy"
            : "measured: median TCP connect time");
    root.put("target", setup.target());
    root.put("model", setup.model());
    root.put("server_latency_ms", Format.round1(setup.serverLatencyMs()));
    root.put("agents", setup.workload().agents());
    root.put("calls_per_agent", setup.workload().callsPerAgent());
    root.put("concurrency", setup.workload().concurrency());
    root.put("interrupted", interrupted);
    root.put("load_average", Format.round1(Load.average()));
    root.put("cpus", Runtime.getRuntime().availableProcessors());
    for (StrategyRun r : runs) {
      if (r.tlsProvider != null) {
        root.put("client_tls", r.tlsProvider);
        root.put("client_io", r.ioTransport);
        break;
      }
    }
    List<Object> strategies = new ArrayList<>();
    for (StrategyRun r : runs) {
      strategies.add(strategyJson(r));
    }
    root.put("strategies", strategies);
    Saving s = saving();
    Map<String, Object> h = new LinkedHashMap<>();
    h.put("sentence", headline());
    if (s != null) {
      h.put("baseline", s.baseline());
      h.put("best", s.best());
      h.put("saved_ms_per_call", Format.round1(s.perCallMs()));
      h.put("saved_s_per_agent_request", Format.round3(s.perAgentRequestMs() / 1000));
    }
    root.put("headline", h);
    return root;
  }

  private static Map<String, Object> strategyJson(StrategyRun r) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("name", r.strategy.label);
    m.put("calls", r.callsMade());
    m.put("errors", r.errorCount());
    m.put("errors_by_kind", r.errorsByKind());
    m.put(
        "protocol",
        r.client.protocols().isEmpty() ? null : String.join(", ", r.client.protocols()));
    m.put("call_ms", r.calls.toMap("p50", "p90", "p99", "max", "mean"));
    m.put("first_call_ms", Format.round1(r.firstCallMs()));
    m.put("first_calls_ms", r.firstCalls.toMap("p50", "max"));
    m.put("agent_request_ms", r.agentRequests.toMap("p50", "p99", "max"));
    m.put("connections_opened", r.connectionsOpened());
    m.put("tls_handshakes", r.tlsHandshakes());
    Map<String, Object> client = new LinkedHashMap<>();
    client.put("connections_opened", r.client.connects());
    client.put("tls_handshakes", r.client.tlsHandshakes());
    client.put("calls_that_opened_a_connection", r.client.callsOpeningConnection());
    client.put("calls_on_reused_connection", r.client.acquiredReused());
    if (r.poolStats != null) {
      client.put("peak_open_connections", r.poolStats.peakOpen());
      client.put("peak_pending", r.poolStats.peakPending());
    }
    m.put("pool", poolJson(r));
    client.put("phases_ms", r.client.phases());
    if (r.clientSetup.count() > 0) {
      client.put("client_setup_ms", r.clientSetup.toMap("p50", "p99"));
      client.put("client_close_ms", r.clientTeardown.toMap("p50", "p99"));
    }
    m.put("client", client);
    if (r.server != null) {
      Map<String, Object> server = new LinkedHashMap<>();
      server.put("connections_accepted", r.server.connections());
      server.put("tls_handshakes", r.server.tlsHandshakes());
      server.put("requests", r.server.requests());
      m.put("server", server);
    } else {
      m.put("server", null);
    }
    m.put("wall_ms", Format.round1(r.wallNanos / 1e6));
    if (r.cancelled() > 0) {
      m.put("cancelled", r.cancelled());
    }
    return m;
  }

  /**
   * The pool's figures (issue 7): peaks, peak utilization, whether the utilization warning fired,
   * and the stats line. For new-connection-per-call, which makes a pool per call, the highest peak
   * utilization and the warnings of all of them.
   */
  private static Map<String, Object> poolJson(StrategyRun r) {
    Map<String, Object> p = new LinkedHashMap<>();
    PoolStats s = r.poolStats;
    if (s != null) {
      p.put("pools", 1);
      p.put("limit", s.limit());
      p.put("peak_open_connections", s.peakOpen());
      p.put("peak_active", s.peakActive());
      p.put("peak_pending", s.peakPending());
    } else {
      p.put("pools", r.freshPools.get());
      p.put("peak_open_connections", r.freshPeakOpen.get()); // of any one pool
      p.put("peak_active", r.freshPeakActive.get());
    }
    p.put("peak_utilization", Format.round3(r.peakUtilization()));
    p.put("warning_fired", r.warningFired());
    p.put("utilization_warnings", r.utilizationWarnings());
    if (s != null) {
      p.put("reused", s.reused());
      p.put("pool_timeouts", s.acquireTimeouts());
      p.put("rejected", s.rejected());
      p.put("stats", s.toString());
    }
    return p;
  }

  @Nullable StrategyRun find(Strategy s) {
    for (StrategyRun r : runs) {
      if (r.strategy == s) {
        return r;
      }
    }
    return null;
  }
}
