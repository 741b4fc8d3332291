package dev.llmpool.cli;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine;

/** Runs {@code llmpool ARGS} in-process on a thread of its own, capturing stdout and stderr. */
final class CliRun {
  final CommandLine commandLine = Main.newCommandLine();
  final StringWriter out = new StringWriter();
  final StringWriter err = new StringWriter();
  final CompletableFuture<Integer> exit = new CompletableFuture<>();

  private CliRun() {
    commandLine.setOut(new PrintWriter(out, true));
    commandLine.setErr(new PrintWriter(err, true));
  }

  /** Starts the command; {@link #exitCode()} waits for it. */
  static CliRun start(String... args) {
    CliRun r = new CliRun();
    Thread t =
        new Thread(
            () -> {
              try {
                r.exit.complete(r.commandLine.execute(args));
              } catch (Throwable e) {
                r.exit.completeExceptionally(e);
              }
            },
            "cli-test-" + args[0]);
    t.setDaemon(true);
    t.start();
    return r;
  }

  /** Runs the command to its end. */
  static CliRun run(String... args) {
    CliRun r = start(args);
    r.exitCode();
    return r;
  }

  int exitCode() {
    return exit.orTimeout(50, TimeUnit.SECONDS).join();
  }

  <T> T command(String name, Class<T> type) {
    return type.cast(commandLine.getSubcommands().get(name).getCommand());
  }

  String out() {
    return out.toString();
  }

  String err() {
    return err.toString();
  }
}
