package dev.llmpool.bench.peers;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * Reads the two logs nginx writes in the harness's format {@code $connection $http_x_bench_cell
 * $status}: {@code connections.log} holds only the first request of each connection ({@code
 * $connection_requests = 1}, which for HTTP/2 counts the streams of the connection), so its lines
 * per cell tag are the connections that cell opened; {@code failures.log} holds the answers other
 * than 200. Logging every request would cost nginx CPU and write hundreds of megabytes per run.
 * Each cell uses a fresh client, so a connection never serves two cells.
 */
final class NginxLog {
  /** Per cell tag: connections it opened and answers other than 200. */
  record Counts(Map<String, Long> opened, Map<String, Long> non200) {
    long opened(String tag) {
      return opened.getOrDefault(tag, 0L);
    }

    /** Connections opened by every cell whose tag starts with {@code client/}. */
    long openedByClient(String client) {
      long sum = 0;
      for (Map.Entry<String, Long> e : opened.entrySet()) {
        if (e.getKey().startsWith(client + "/")) {
          sum += e.getValue();
        }
      }
      return sum;
    }
  }

  private NginxLog() {}

  static Counts read(Path dir) throws IOException {
    return new Counts(
        countByTag(dir.resolve("connections.log")), countByTag(dir.resolve("failures.log")));
  }

  private static Map<String, Long> countByTag(Path log) throws IOException {
    Map<String, Long> counts = new HashMap<>();
    if (!Files.exists(log)) {
      return counts;
    }
    try (BufferedReader in = Files.newBufferedReader(log, StandardCharsets.UTF_8)) {
      for (String line; (line = in.readLine()) != null; ) {
        String[] f = line.split(" ", -1);
        if (f.length >= 3) {
          counts.merge(f[1], 1L, Long::sum);
        }
      }
    }
    return counts;
  }
}
