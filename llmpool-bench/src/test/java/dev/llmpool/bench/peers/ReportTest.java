package dev.llmpool.bench.peers;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class ReportTest {
  private static Results.Cell cell(
      String client,
      String protocol,
      int c,
      double rps,
      double cpu,
      double p50,
      double p999,
      double alloc) {
    return new Results.Cell(
        client,
        protocol,
        c,
        Results.OK,
        null,
        client + "/" + protocol + "/c" + c,
        4,
        (long) (rps * 4),
        0,
        rps,
        p50,
        p50 * 2,
        p999,
        p999,
        cpu,
        alloc,
        10,
        1,
        3);
  }

  @Test
  void targetsCompareLlmpoolWithTheBestPeerOfEachCellButNotWithH2load() {
    String md =
        Report.targets(
            java.util.List.of(
                cell("okhttp", "h1", 64, 40_000, 25, 1500, 4000, 14_000),
                cell("jetty", "h1", 64, 50_000, 22, 1200, 3000, 15_000),
                cell("h2load", "h1", 64, 90_000, 11, -1, -1, -1),
                cell("llmpool", "h1", 64, 61_000, 15, 1000, 2500, 3_000),
                cell("okhttp", "h2", 256, 30_000, 30, 8000, 20_000, 20_000),
                cell("llmpool", "h2", 256, 29_000, 31, 8000, 30_000, 5_000)));
    assertThat(md)
        .contains("| h1 c=64 | throughput ≥ 1.2× best peer (jetty) | 1.22× | yes |")
        .contains("| h1 c=64 | allocation ≤ 4 KB/req | 3,000 B | yes |")
        .contains("| h2 c=256 | throughput ≥ 1.0× best peer (okhttp) | 0.97× | **no** |")
        .contains("| h2 c=256 | allocation ≤ 4 KB/req | 5,000 B | **no** |")
        .contains("p99.9 ≤ 3× p50 | 30,000 µs vs p50 8,000 µs | **no** |");
  }

  @Test
  void noTargetsWithoutLlmpool() {
    assertThat(
            Report.targets(
                java.util.List.of(cell("okhttp", "h1", 64, 40_000, 25, 1500, 4000, 14_000))))
        .isEmpty();
  }
}
