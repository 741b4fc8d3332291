package dev.llmpool.bench.peers;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ParsingTest {
  @Test
  void readsCpuOfAProcessWhoseNameHasSpacesAndParentheses() {
    String stat =
        "4242 (nginx: worker (x)) S 4241 4241 4241 0 -1 4194624 100 0 0 0 250 50 7 3 20 0 1 0 1"
            + " 2 3 4";
    assertThat(Meters.cpuNanosFromStat(stat, 100, false)).isEqualTo(3_000_000_000L);
    assertThat(Meters.cpuNanosFromStat(stat, 100, true)).isEqualTo(100_000_000L);
  }

  @Test
  void readsTheMachinesBusyCpuAndWhatOthersUsed() {
    // user nice system idle iowait irq softirq steal guest guest_nice, at 100 ticks a second
    String cpu = "cpu  400 10 200 9000 50 5 30 5 0 0";
    assertThat(Meters.machineCpuNanosFromStat(cpu, 100)).isEqualTo(6_500_000_000L);
    assertThat(Meters.machineCpuNanosFromStat("cpu0 1 2 3 4 5 6 7 8", 100)).isEqualTo(-1);
    // 6.5 s busy over 10 s, of which the client and nginx used 6 s: 5 % of one CPU went elsewhere.
    assertThat(Meters.otherCpuPercent(6_500_000_000L, 6_000_000_000L, 10_000_000_000L))
        .isEqualTo(5.0);
    assertThat(Meters.otherCpuPercent(5_000_000_000L, 6_000_000_000L, 10_000_000_000L)).isZero();
    assertThat(Meters.otherCpuPercent(-1, 0, 10)).isEqualTo(-1);
  }

  @Test
  void countsConnectionsByTheCellThatOpenedThem(@TempDir Path dir) throws Exception {
    Files.write(
        dir.resolve("connections.log"),
        List.of("1 okhttp/h1/c1 200", "2 okhttp/h1/c64 200", "3 okhttp/h1/c64 200"),
        StandardCharsets.UTF_8);
    Files.write(
        dir.resolve("failures.log"), List.of("3 okhttp/h1/c64 499"), StandardCharsets.UTF_8);
    NginxLog.Counts counts = NginxLog.read(dir);
    assertThat(counts.opened("okhttp/h1/c1")).isEqualTo(1);
    assertThat(counts.opened("okhttp/h1/c64")).isEqualTo(2);
    assertThat(counts.opened("jetty/h1/c1")).isZero();
    assertThat(counts.openedByClient("okhttp")).isEqualTo(3);
    assertThat(counts.openedByClient("okhttp-x")).isZero();
    assertThat(counts.non200()).containsEntry("okhttp/h1/c64", 1L);
  }

  @Test
  void requestAndAnswerHaveTheSizesTheDocsState() {
    assertThat(Payloads.chatRequest(false)).hasSize(925);
    assertThat(Payloads.chatAnswer()).hasSize(743);
    assertThat(Payloads.streamAnswer()).hasSize(115_906);
  }

  @Test
  void pacedDirectivesSendEveryTokenThenDone() {
    String conf = Payloads.pacedDirectives(2);
    assertThat(conf.split("echo_flush;", -1)).hasSize(Payloads.STREAM_TOKENS + 1);
    assertThat(conf.split("echo_sleep 0.002;", -1)).hasSize(Payloads.STREAM_TOKENS);
    assertThat(conf).endsWith("echo -n 'data: [DONE]\\n\\n';\n").doesNotContain("\n\n");
  }
}
