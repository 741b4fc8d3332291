package dev.llmpool.cli;

import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code llmpool demo}: the README's first command. */
@Command(
    name = "demo",
    mixinStandardHelpOptions = true,
    description =
        "Show what connection pooling saves on an agent workload, on an embedded mock LLM server.")
final class DemoCommand implements Callable<Integer> {

  @Spec CommandSpec spec;

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    out.println("llmpool demo: not built yet. It will start an embedded mock LLM server behind a");
    out.println("latency proxy and run one agent workload four ways (a new connection per call,");
    out.println("pooled HTTP/1.1, pooled HTTP/2, pooled HTTP/2 pre-warmed), then show latency per");
    out.println("call, per agent request, and connections opened.");
    out.flush();
    return 0;
  }
}
