package dev.llmpool.bench.peers;

import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/** The shapes of the result files (written and read as JSON with Jackson). */
public final class Results {
  private Results() {}

  /** A cell's status. */
  public static final String OK = "ok";

  /** The client cannot speak the cell's protocol (the note says why). */
  public static final String UNSUPPORTED = "unsupported";

  /** The cell ran but did not finish cleanly: every call hung, or it could not start. */
  public static final String FAILED = "failed";

  /** Not run by design (the note says why). */
  public static final String NOT_APPLICABLE = "n/a";

  /**
   * One client × protocol × concurrency cell of the request/response matrix. Latencies in µs, CPU
   * in µs per request, allocation in bytes per request; {@code connectionsOpened} comes from
   * nginx's log ({@code -1} until the orchestrator fills it in).
   */
  public record Cell(
      String client,
      String protocol,
      int concurrency,
      String status,
      @Nullable String note,
      String tag,
      double seconds,
      long requests,
      long errors,
      double requestsPerSecond,
      double p50Micros,
      double p99Micros,
      double p999Micros,
      double maxMicros,
      double cpuMicrosPerRequest,
      double allocatedBytesPerRequest,
      double nginxCpuMicrosPerRequest,
      long connectionsOpened,
      double otherCpuPercent) {

    /** A cell that did not run. */
    public static Cell skipped(
        String client, Protocol protocol, int concurrency, String status, String note) {
      return new Cell(
          client,
          protocol.key(),
          concurrency,
          status,
          note,
          "",
          0,
          0,
          0,
          0,
          0,
          0,
          0,
          0,
          0,
          0,
          0,
          -1,
          -1);
    }

    /** This cell with the connection count from nginx's log. */
    public Cell withConnections(long opened) {
      return new Cell(
          client,
          protocol,
          concurrency,
          status,
          note,
          tag,
          seconds,
          requests,
          errors,
          requestsPerSecond,
          p50Micros,
          p99Micros,
          p999Micros,
          maxMicros,
          cpuMicrosPerRequest,
          allocatedBytesPerRequest,
          nginxCpuMicrosPerRequest,
          opened,
          otherCpuPercent);
    }
  }

  /**
   * One streaming cell: {@code mode} is {@code paced} (one flushed write per token, a gap between
   * tokens) or {@code burst} (the whole answer as fast as the socket takes it). Time to first token
   * in µs from the call to the first parsed {@code data:} event; CPU and allocation per token.
   */
  public record StreamCell(
      String client,
      String protocol,
      String mode,
      int concurrency,
      String status,
      @Nullable String note,
      String tag,
      double seconds,
      long streams,
      long tokens,
      long errors,
      double tokensPerSecond,
      double ttftP50Micros,
      double ttftP99Micros,
      double streamP50Micros,
      double cpuMicrosPerToken,
      double allocatedBytesPerToken) {

    /** A cell that did not run. */
    public static StreamCell skipped(
        String client,
        Protocol protocol,
        String mode,
        int concurrency,
        String status,
        String note) {
      return new StreamCell(
          client,
          protocol.key(),
          mode,
          concurrency,
          status,
          note,
          "",
          0,
          0,
          0,
          0,
          0,
          0,
          0,
          0,
          0,
          0);
    }
  }

  /**
   * Idle-connection memory: heap (used after a full GC) and native (resident set minus heap; the
   * heap is pre-touched, so its pages do not move the RSS) per idle pooled connection, measured as
   * the growth from a warm baseline divided by the connections added, and the whole RSS at the end.
   */
  public record Memory(
      String client,
      String protocol,
      String status,
      @Nullable String note,
      int connections,
      int connectionsAdded,
      double heapBytesPerConnection,
      double nativeBytesPerConnection,
      long rssBytes,
      long nonHeapRssBytes,
      int threads) {

    /** A probe that did not run. */
    public static Memory skipped(String client, Protocol protocol, String status, String note) {
      return new Memory(client, protocol.key(), status, note, 0, 0, 0, 0, 0, 0, 0);
    }
  }

  /**
   * Everything one client's JVMs measured; {@code connectionsOpened} counts every connection the
   * client opened over its run (warm-up, cells, streams, memory probe) from nginx's log.
   */
  public record ClientRun(
      String client,
      String description,
      List<String> settings,
      String jvm,
      List<String> jvmFlags,
      double warmupSeconds,
      List<Cell> cells,
      List<StreamCell> streams,
      List<Memory> memory,
      long connectionsOpened) {}

  /** The machine and the run's parameters. */
  public record Meta(
      String date,
      String command,
      String machine,
      int cpus,
      String cpuModel,
      long memoryBytes,
      String jdk,
      List<String> jvmFlags,
      String nginx,
      Map<String, String> durations,
      String loadBefore,
      String loadAfter,
      String label) {}

  /** A whole run: {@code results.json}. */
  public record Run(Meta meta, List<ClientRun> clients, List<Cell> reference) {}
}
