package dev.llmpool.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.concurrent.Callable;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class MainTest {

  /** A job that fails with the given message. */
  @CommandLine.Command(name = "fail")
  static final class Failing implements Callable<Integer> {
    private final @Nullable String message;

    Failing(@Nullable String message) {
      this.message = message;
    }

    @Override
    public Integer call() {
      throw message == null ? new IllegalStateException() : new IllegalStateException(message);
    }
  }

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
          "--json",
          "--warn-above",
          "--warn-after"
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
  void noSubcommandPrintsUsageListingEveryCommand() {
    Result r = run();
    assertThat(r.code()).isZero();
    assertThat(r.out())
        .contains("Usage: llmpool")
        .contains("demo")
        .contains("bench")
        .contains("mock")
        .contains("chat");
  }

  @Test
  void malformedValuesOfEachCommandAreUsageErrorsWithExitTwo() {
    String[][] cases = {
      {"demo", "--rtt", "fast"},
      {"demo", "--agents", "many"},
      {"demo", "--concurrency", "-3"},
      {"bench", "--url", "http://127.0.0.1:9/x", "--duration", "1 minute"},
      {"no-such-command"},
    };
    for (String[] args : cases) {
      Result r = run(args);
      assertThat(r.code()).as(String.join(" ", args)).isEqualTo(2);
      assertThat(r.err()).as(String.join(" ", args)).isNotBlank();
      assertThat(r.out()).as(String.join(" ", args)).isEmpty();
    }
  }

  @Test
  void aFailedJobPrintsOneLineAndExitsOne() {
    CommandLine cl = Main.newCommandLine();
    cl.addSubcommand("fail", new Failing("phase=connect, host=example:443\ndetails"));
    cl.addSubcommand("fail-silently", new Failing(null));
    StringWriter err = new StringWriter();
    cl.setErr(new PrintWriter(err));
    assertThat(cl.execute("fail")).isEqualTo(1);
    assertThat(err.toString())
        .isEqualTo("llmpool: phase=connect, host=example:443" + System.lineSeparator());
    StringWriter err2 = new StringWriter();
    cl.setErr(new PrintWriter(err2));
    assertThat(cl.execute("fail-silently")).isEqualTo(1);
    assertThat(err2.toString().strip()).isEqualTo("llmpool: java.lang.IllegalStateException");
  }

  @Test
  void versionNamesTheProgram() {
    Result r = run("--version");
    assertThat(r.code()).isZero();
    assertThat(r.out()).startsWith("llmpool ");
  }
}
