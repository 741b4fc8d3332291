package dev.llmpool.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class MainTest {

  private record Result(int code, String out, String err) {}

  private static Result run(String... args) {
    CommandLine cl = Main.newCommandLine();
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    cl.setOut(new PrintWriter(out));
    cl.setErr(new PrintWriter(err));
    int code = cl.execute(args);
    return new Result(code, out.toString(), err.toString());
  }

  @Test
  void demoAndBenchHaveHelp() {
    Result demo = run("demo", "--help");
    assertThat(demo.code()).isZero();
    assertThat(demo.out())
        .contains("Usage: llmpool demo")
        .contains("--rtt")
        .contains("--agents")
        .contains("--calls-per-agent")
        .contains("--concurrency")
        .contains("--json")
        .contains("--report")
        .contains("--base-url")
        .contains("--model");
    Result bench = run("bench", "--help");
    assertThat(bench.code()).isZero();
    for (String flag :
        new String[] {
          "--url",
          "--http1",
          "--http2",
          "--concurrency",
          "--requests",
          "--duration",
          "--rate",
          "--max-connections",
          "--max-per-host",
          "--max-idle",
          "--keep-alive-expiry",
          "--pool-timeout",
          "--cacert",
          "--header",
          "--body",
          "--stream",
          "--json"
        }) {
      assertThat(bench.out()).as(flag).contains(flag);
    }
  }

  @Test
  void unknownFlagIsAUsageErrorWithExitTwo() {
    Result r = run("demo", "--no-such-flag");
    assertThat(r.code()).isEqualTo(2);
    assertThat(r.err()).contains("Unknown option").contains("--no-such-flag");
  }

  @Test
  void noSubcommandPrintsUsage() {
    Result r = run();
    assertThat(r.code()).isZero();
    assertThat(r.out()).contains("Usage: llmpool").contains("demo").contains("bench");
  }
}
