package dev.llmpool.cli;

import dev.llmpool.LlmPool;
import dev.llmpool.PoolStats;
import dev.llmpool.time.Ticker;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import javax.imageio.ImageIO;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.CategorySeries;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.internal.chartpart.Chart;
import org.knowm.xchart.style.AxesChartStyler;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * The demo's {@code --report}: one self-contained HTML file (no script, no network) with the
 * headline, the table and four charts drawn by XChart and embedded as PNG (rendered at twice their
 * size, so they stay sharp on high-density screens).
 */
final class HtmlReport {
  private static final int WIDTH = 960;
  private static final int HEIGHT = 440;
  private static final int SCALE = 2;
  private static final int MAX_POINTS = 4_000;
  private static final Font BASE = new Font(Font.SANS_SERIF, Font.PLAIN, 13);

  /**
   * The percentiles the distribution chart is drawn at: 0, 1, ... 90, 90.5, ... 99, 99.1, ... 100.
   */
  private static final double[] PERCENTILES = percentileGrid();

  private static double[] percentileGrid() {
    List<Double> g = new ArrayList<>();
    for (int i = 0; i <= 900; i += 10) {
      g.add(i / 10.0);
    }
    for (int i = 905; i <= 990; i += 5) {
      g.add(i / 10.0);
    }
    for (int i = 9_910; i <= 10_000; i += 10) {
      g.add(i / 100.0);
    }
    return g.stream().mapToDouble(Double::doubleValue).toArray();
  }

  private HtmlReport() {}

  /** The colour of each strategy, the same in every chart. */
  static Color color(Strategy s) {
    return switch (s) {
      case NEW_CONNECTION_PER_CALL -> new Color(0xD6, 0x27, 0x28);
      case POOLED_HTTP1 -> new Color(0x1F, 0x77, 0xB4);
      case POOLED_HTTP2 -> new Color(0x2C, 0xA0, 0x2C);
      case POOLED_HTTP2_PREWARMED -> new Color(0x94, 0x67, 0xBD);
    };
  }

  /**
   * Writes the report.
   *
   * @throws UncheckedIOException when the file cannot be written
   * @throws IllegalStateException when Java cannot draw (a headless system without fonts)
   */
  static void write(DemoResults results, Path file) {
    Json.write(file, html(results).getBytes(java.nio.charset.StandardCharsets.UTF_8));
  }

  /**
   * Loads Java's 2D graphics, fonts and PNG writer now, before the run: a system that cannot draw
   * fails at once rather than after the demo, and nothing is left to start during a Ctrl-C shutdown
   * (Java2D registers shutdown hooks as it starts, which a JVM already shutting down refuses).
   *
   * @throws IllegalStateException when Java cannot draw here
   */
  static void prepare() {
    try {
      XYChart probe = new XYChartBuilder().width(40).height(30).title("probe").build();
      style(probe.getStyler());
      probe.addSeries("s", new double[] {0, 1}, new double[] {0, 1});
      png(probe);
    } catch (RuntimeException | LinkageError e) {
      throw cannotDraw(e);
    }
  }

  private static IllegalStateException cannotDraw(Throwable e) {
    String hint =
        e instanceof LinkageError
                || String.valueOf(e.getMessage()).toLowerCase(Locale.ROOT).contains("font")
            ? "; headless Java needs fonts: install fontconfig and a font such as fonts-dejavu"
            : "";
    return new IllegalStateException("cannot draw the report's charts (" + e + ")" + hint, e);
  }

  static String html(DemoResults r) {
    headless();
    List<String[]> charts = new ArrayList<>();
    try {
      charts.add(
          new String[] {
            png(distribution(r)),
            "Latency distribution: the share of calls (y) that took at most x milliseconds. A curve"
                + " further left is faster; a step at the top is the slowest calls."
          });
      charts.add(
          new String[] {
            png(timeline(r)),
            "Every call's latency (y) at the moment it started (x): the strategies ran one after"
                + " the other. Calls that had to open a connection stand out."
          });
      charts.add(
          new String[] {
            png(agentRequests(r)),
            "Time per agent request: "
                + r.setup.workload().callsPerAgent()
                + " chat calls made one after the other (median and 99th percentile)."
          });
      charts.add(
          new String[] {
            png(connections(r)),
            "Connections opened and TLS handshakes"
                + (r.runs.get(0).server != null ? ", as the server counted them." : ".")
          });
    } catch (RuntimeException | LinkageError e) {
      throw cannotDraw(e);
    }

    StringBuilder h = new StringBuilder(512 * 1024);
    h.append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
        .append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
        .append("<title>llmpool demo: what connection pooling saves</title>\n<style>\n")
        .append(
            "body{font-family:system-ui,-apple-system,\"Segoe UI\",Roboto,\"DejaVu Sans\",sans-serif;"
                + "max-width:1000px;margin:2em auto;padding:0 1.2em;color:#222;line-height:1.45}\n")
        .append("h1{font-size:1.6em;margin-bottom:.2em}h2{font-size:1.15em;margin:2em 0 .4em}\n")
        .append(".setup{color:#555;margin-top:0}\n")
        .append(
            ".headline{font-size:1.35em;font-weight:600;margin:1.2em 0;padding:.6em .9em;"
                + "background:#f3f7ee;border-left:5px solid #2ca02c}\n")
        .append(".interrupted{color:#b00;font-weight:600}\n")
        .append(
            "table{border-collapse:collapse;font-variant-numeric:tabular-nums;font-size:.88em;"
                + "margin:1em 0}\n")
        .append(
            "th,td{padding:.35em .45em;text-align:right;border-bottom:1px solid #e3e3e3;"
                + "white-space:nowrap}\n")
        .append("th{background:#fafafa;font-weight:600}td.name,th.name{text-align:left}\n")
        .append(".wide{overflow-x:auto}\n")
        .append(".swatch{display:inline-block;width:.8em;height:.8em;margin-right:.5em;")
        .append("border-radius:2px;vertical-align:baseline}\n")
        .append("figure{margin:1.5em 0 2.5em}figure img{width:100%;max-width:")
        .append(WIDTH)
        .append("px;height:auto;border:1px solid #eee}\n")
        .append("figcaption{color:#555;font-size:.92em;margin-top:.3em}\n")
        .append(".notes{color:#555;font-size:.92em}footer{color:#888;font-size:.85em;")
        .append("margin-top:3em}\n</style>\n</head>\n<body>\n");

    h.append("<h1>llmpool demo: what connection pooling saves</h1>\n");
    StrategyRun.Workload w = r.setup.workload();
    h.append("<p class=\"setup\">")
        .append(w.agents())
        .append(" agent requests of ")
        .append(w.callsPerAgent())
        .append(" chat calls each, ")
        .append(w.parallel())
        .append(" at a time, made four ways, against ")
        .append(esc(targetText(r)))
        .append(".</p>\n");
    if (r.interrupted) {
      h.append("<p class=\"interrupted\">Interrupted (Ctrl-C): the figures so far.</p>\n");
    }
    h.append("<p class=\"headline\">").append(esc(r.headline())).append("</p>\n");
    table(h, r);
    h.append("<p class=\"notes\">Latency is measured around each chat call (llmpool's")
        .append(" <code>ChatClient.complete</code>, no re-sends). First call: the")
        .append(" latency of the first call each strategy made. Agent request: the wall-clock")
        .append(" time of one agent's calls, one after the other.")
        .append(" The strategies: ");
    for (Strategy s : Strategy.values()) {
      h.append("<b>").append(s.label).append("</b>: ").append(esc(s.description)).append("; ");
    }
    h.setLength(h.length() - 2);
    h.append(".</p>\n");
    poolHealth(h, r);

    String[] titles = {
      "Latency distribution", "Latency over the run", "Time per agent request", "Connections"
    };
    for (int i = 0; i < charts.size(); i++) {
      h.append("<h2>")
          .append(titles[i])
          .append("</h2>\n<figure><img alt=\"")
          .append(titles[i])
          .append("\" width=\"")
          .append(WIDTH)
          .append("\" height=\"")
          .append(HEIGHT)
          .append("\" src=\"data:image/png;base64,")
          .append(charts.get(i)[0])
          .append("\">\n<figcaption>")
          .append(esc(charts.get(i)[1]))
          .append("</figcaption></figure>\n");
    }
    String when =
        DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm 'UTC'", Locale.ROOT)
            .format(
                Instant.ofEpochMilli(Ticker.system().currentTimeMillis()).atOffset(ZoneOffset.UTC));
    h.append("<footer>Made by <code>llmpool demo</code> (llmpool ")
        .append(esc(LlmPool.VERSION))
        .append(") on ")
        .append(when)
        .append(". The figures are also available as JSON with <code>--json FILE</code>.")
        .append("</footer>\n</body>\n</html>\n");
    return h.toString();
  }

  private static String targetText(DemoResults r) {
    Double rtt = r.setup.simulatedRttMs();
    if (rtt != null) {
      return "an embedded mock LLM server behind a latency proxy adding a "
          + Math.round(rtt)
          + " ms round trip"
          + (r.setup.serverLatencyMs() > 0
              ? ", " + Math.round(r.setup.serverLatencyMs()) + " ms server time per reply"
              : "");
    }
    Double measured = r.rttMs();
    return r.setup.target()
        + " (model "
        + r.setup.model()
        + (measured != null ? "; measured round trip about " + Format.ms(measured) + " ms" : "")
        + ")";
  }

  private static void table(StringBuilder h, DemoResults r) {
    h.append(
            "<div class=\"wide\"><table>\n<thead><tr><th class=\"name\" rowspan=\"2\">strategy</th>")
        .append("<th rowspan=\"2\">calls</th><th rowspan=\"2\">errors</th>")
        .append("<th colspan=\"4\">call latency, ms</th><th rowspan=\"2\">first<br>call, ms</th>")
        .append(
            "<th colspan=\"2\">agent request, s</th><th rowspan=\"2\">connections<br>opened</th>")
        .append("<th rowspan=\"2\">TLS<br>handshakes</th></tr>\n")
        .append("<tr><th>p50</th><th>p90</th><th>p99</th><th>max</th><th>p50</th><th>p99</th>")
        .append("</tr></thead>\n<tbody>\n");
    for (StrategyRun run : r.runs) {
      Color c = color(run.strategy);
      h.append("<tr><td class=\"name\"><span class=\"swatch\" style=\"background:")
          .append(
              String.format(Locale.ROOT, "#%02x%02x%02x", c.getRed(), c.getGreen(), c.getBlue()))
          .append("\"></span>")
          .append(run.strategy.label)
          .append("</td>");
      cell(h, Integer.toString(run.callsMade()));
      cell(h, Long.toString(run.errorCount()));
      cell(h, Format.ms(run.calls.percentileMs(50)));
      cell(h, Format.ms(run.calls.percentileMs(90)));
      cell(h, Format.ms(run.calls.percentileMs(99)));
      cell(h, Format.ms(run.calls.maxMs()));
      cell(h, Format.ms(run.firstCallMs()));
      cell(h, Format.seconds(run.agentRequests.percentileMs(50)));
      cell(h, Format.seconds(run.agentRequests.percentileMs(99)));
      cell(h, Long.toString(run.connectionsOpened()));
      cell(h, Long.toString(run.tlsHandshakes()));
      h.append("</tr>\n");
    }
    h.append("</tbody>\n</table></div>\n");
  }

  /** The pools' own figures (PoolStats): peaks, peak utilization, the utilization warning. */
  private static void poolHealth(StringBuilder h, DemoResults r) {
    h.append("<h2>Pool health</h2>\n<div class=\"wide\"><table>\n<thead><tr>")
        .append("<th class=\"name\">strategy</th><th>pools</th><th>peak open<br>connections</th>")
        .append("<th>peak active<br>connections</th><th>peak calls<br>waiting</th>")
        .append(
            "<th>peak<br>utilization</th><th>utilization<br>warning</th></tr></thead>\n<tbody>\n");
    for (StrategyRun run : r.runs) {
      PoolStats s = run.poolStats;
      h.append("<tr><td class=\"name\">").append(run.strategy.label).append("</td>");
      cell(h, Long.toString(s != null ? 1 : run.freshPools.get()));
      cell(h, Integer.toString(s != null ? s.peakOpen() : run.freshPeakOpen.get()));
      cell(h, Integer.toString(s != null ? s.peakActive() : run.freshPeakActive.get()));
      cell(h, s != null ? Integer.toString(s.peakPending()) : "-");
      cell(h, String.format(Locale.ROOT, "%.0f%%", run.peakUtilization() * 100));
      long warnings = run.utilizationWarnings();
      cell(h, warnings == 0 ? "not fired" : "fired" + (warnings > 1 ? " " + warnings + "x" : ""));
      h.append("</tr>\n");
    }
    h.append("</tbody>\n</table></div>\n")
        .append("<p class=\"notes\">From each pool's <code>stats()</code>. Utilization is active")
        .append(" connections over <code>limits.maxConnections</code> (100 by default), and 100%")
        .append(" while calls wait at the limit; the pool logs a warning when it stays at 80% or")
        .append(
            " more for 10 s. New-connection-per-call makes a pool per call: its figures are the")
        .append(" highest of them.</p>\n");
  }

  private static void cell(StringBuilder h, String s) {
    h.append("<td>").append(esc(s)).append("</td>");
  }

  // ---------------------------------------------------------------- charts

  private static XYChart distribution(DemoResults r) {
    XYChart chart =
        new XYChartBuilder()
            .width(WIDTH)
            .height(HEIGHT)
            .title("Latency distribution per strategy")
            .xAxisTitle("call latency (ms)")
            .yAxisTitle("calls at or below (%)")
            .build();
    style(chart.getStyler());
    chart.getStyler().setLegendPosition(Styler.LegendPosition.InsideSE);
    chart.getStyler().setDefaultSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Step);
    chart.getStyler().setXAxisMin(0.0);
    chart.getStyler().setYAxisDecimalPattern("0");
    for (StrategyRun run : r.runs) {
      double[] ms =
          run.records().stream()
              .filter(StrategyRun.CallRecord::ok)
              .mapToDouble(c -> c.latencyNanos() / 1e6)
              .sorted()
              .toArray();
      if (ms.length == 0) {
        continue;
      }
      // The latency at each percentile of a fixed grid, finer towards the tail (nearest rank).
      // A grid, not one point per call: XChart lays out odd ticks for equally spaced values.
      double[] y = PERCENTILES;
      double[] x = new double[y.length];
      for (int i = 0; i < y.length; i++) {
        int rank = (int) Math.ceil(y[i] / 100 * ms.length);
        x[i] = ms[Math.max(0, Math.min(ms.length - 1, rank - 1))];
      }
      XYSeries s = chart.addSeries(run.strategy.label, x, y);
      s.setMarker(SeriesMarkers.NONE);
      s.setLineColor(color(run.strategy));
      s.setLineStyle(new BasicStroke(2.2f));
    }
    return chart;
  }

  private static XYChart timeline(DemoResults r) {
    XYChart chart =
        new XYChartBuilder()
            .width(WIDTH)
            .height(HEIGHT)
            .title("Every call's latency over the run")
            .xAxisTitle("time since the first strategy started (s)")
            .yAxisTitle("call latency (ms)")
            .build();
    style(chart.getStyler());
    chart.getStyler().setLegendPosition(Styler.LegendPosition.InsideNE);
    chart.getStyler().setDefaultSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Scatter);
    chart.getStyler().setMarkerSize(5);
    chart.getStyler().setYAxisMin(0.0).setXAxisMin(0.0);
    long offset = 0; // the strategies ran one after the other: lay them out so
    for (StrategyRun run : r.runs) {
      long at = offset;
      offset += run.wallNanos;
      List<StrategyRun.CallRecord> calls =
          run.records().stream().filter(StrategyRun.CallRecord::ok).toList();
      if (calls.isEmpty()) {
        continue;
      }
      int stride = Math.max(1, (calls.size() + MAX_POINTS - 1) / MAX_POINTS);
      int n = (calls.size() + stride - 1) / stride;
      double[] x = new double[n];
      double[] y = new double[n];
      for (int i = 0; i < n; i++) {
        StrategyRun.CallRecord c = calls.get(i * stride);
        x[i] = (at + c.startNanos()) / 1e9;
        y[i] = c.latencyNanos() / 1e6;
      }
      XYSeries s = chart.addSeries(run.strategy.label, x, y);
      s.setMarker(SeriesMarkers.CIRCLE);
      Color c = color(run.strategy);
      s.setMarkerColor(new Color(c.getRed(), c.getGreen(), c.getBlue(), 150));
    }
    return chart;
  }

  /** A bar chart per strategy, two series, each bar labelled with its value in black. */
  private static CategoryChart labelledBars(
      String title, String yTitle, String valuePattern, String yAxisPattern) {
    CategoryChart chart =
        new CategoryChartBuilder()
            .width(WIDTH)
            .height(HEIGHT)
            .title(title)
            .xAxisTitle("strategy")
            .yAxisTitle(yTitle)
            .build();
    style(chart.getStyler());
    chart.getStyler().setLegendPosition(Styler.LegendPosition.InsideNE);
    chart.getStyler().setLabelsVisible(true);
    chart.getStyler().setLabelsFont(BASE.deriveFont(12f));
    chart.getStyler().setDecimalPattern(valuePattern);
    chart.getStyler().setYAxisDecimalPattern(yAxisPattern);
    chart
        .getStyler()
        .setSeriesColors(new Color[] {new Color(0x6B, 0xAE, 0xD6), new Color(0xC6, 0xDB, 0xEF)});
    chart.getStyler().setLabelsFontColorAutomaticEnabled(false);
    chart.getStyler().setLabelsFontColor(Color.BLACK);
    return chart;
  }

  private static CategoryChart agentRequests(DemoResults r) {
    CategoryChart chart = labelledBars("Time per agent request", "seconds", "0.00", "0.0");
    List<String> names = new ArrayList<>();
    List<Double> p50 = new ArrayList<>();
    List<Double> p99 = new ArrayList<>();
    for (StrategyRun run : r.runs) {
      names.add(run.strategy.label);
      p50.add(nanToZero(run.agentRequests.percentileMs(50)) / 1000);
      p99.add(nanToZero(run.agentRequests.percentileMs(99)) / 1000);
    }
    chart.addSeries("median", names, p50);
    chart.addSeries("99th percentile", names, p99);
    return chart;
  }

  private static CategoryChart connections(DemoResults r) {
    CategoryChart chart = labelledBars("Connections opened", "count", "#,##0", "#,##0");
    List<String> names = new ArrayList<>();
    List<Long> opened = new ArrayList<>();
    List<Long> tls = new ArrayList<>();
    for (StrategyRun run : r.runs) {
      names.add(run.strategy.label);
      opened.add(run.connectionsOpened());
      tls.add(run.tlsHandshakes());
    }
    CategorySeries a = chart.addSeries("connections opened", names, opened);
    CategorySeries b = chart.addSeries("TLS handshakes", names, tls);
    a.setFillColor(new Color(0x6B, 0xAE, 0xD6));
    b.setFillColor(new Color(0xC6, 0xDB, 0xEF));
    return chart;
  }

  private static double nanToZero(double v) {
    return Double.isNaN(v) ? 0 : v;
  }

  private static void style(AxesChartStyler s) {
    s.setBaseFont(BASE);
    s.setChartTitleFont(BASE.deriveFont(Font.BOLD, 16f));
    s.setAxisTitleFont(BASE.deriveFont(13f));
    s.setAxisTickLabelsFont(BASE.deriveFont(12f));
    s.setLegendFont(BASE.deriveFont(12f));
    s.setChartBackgroundColor(Color.WHITE);
    s.setPlotBackgroundColor(Color.WHITE);
    s.setPlotBorderColor(new Color(0xCC, 0xCC, 0xCC));
    s.setPlotGridLinesColor(new Color(0xE6, 0xE6, 0xE6));
    s.setLegendBorderColor(new Color(0xDD, 0xDD, 0xDD));
    s.setChartTitleBoxVisible(false);
    s.setChartPadding(12);
    s.setLocale(Locale.ROOT);
    s.setAntiAlias(true);
  }

  private static void headless() {
    if (System.getProperty("java.awt.headless") == null) {
      System.setProperty("java.awt.headless", "true");
    }
  }

  /** The chart as a PNG at {@link #SCALE}× its size, base64. */
  private static String png(Chart<?, ?> chart) {
    headless();
    BufferedImage img =
        new BufferedImage(
            chart.getWidth() * SCALE, chart.getHeight() * SCALE, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = img.createGraphics();
    try {
      g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
      g.setRenderingHint(
          RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
      g.scale(SCALE, SCALE);
      chart.paint(g, chart.getWidth(), chart.getHeight());
    } finally {
      g.dispose();
    }
    ByteArrayOutputStream bytes = new ByteArrayOutputStream(256 * 1024);
    try {
      ImageIO.write(img, "png", bytes);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return Base64.getEncoder().encodeToString(bytes.toByteArray());
  }

  private static String esc(String s) {
    StringBuilder b = new StringBuilder(s.length() + 16);
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '<' -> b.append("&lt;");
        case '>' -> b.append("&gt;");
        case '&' -> b.append("&amp;");
        case '"' -> b.append("&quot;");
        default -> b.append(c);
      }
    }
    return b.toString();
  }
}
