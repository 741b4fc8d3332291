package dev.llmpool.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code llmpool} command. Each subcommand is its own class; add one to {@code subcommands}
 * below. Exit codes: 0 success, 1 the job failed (a clear one-line reason on stderr), 2 a usage
 * error (an unknown flag or a malformed value).
 */
@Command(
    name = "llmpool",
    mixinStandardHelpOptions = true,
    versionProvider = Main.Version.class,
    description = "Warm, bounded, observable HTTP connections to LLM APIs.",
    subcommands = {
      DemoCommand.class,
      BenchCommand.class,
      MockCommand.class,
      ChatCommand.class,
      CommandLine.HelpCommand.class
    })
public final class Main implements Runnable {

  @SuppressWarnings("NullAway.Init") // injected by picocli before run()
  @CommandLine.Spec
  CommandLine.Model.CommandSpec spec;

  /** Runs the command line and exits with its code. */
  public static void main(String[] args) {
    System.exit(run(args));
  }

  /** Runs the command line in-process and returns the exit code (tests call this). */
  public static int run(String... args) {
    return newCommandLine().execute(args);
  }

  /** The configured picocli command line: usage errors exit 2, failures 1. */
  public static CommandLine newCommandLine() {
    CommandLine cl = new CommandLine(new Main());
    cl.setExecutionExceptionHandler(
        (ex, commandLine, parseResult) -> {
          // A failed job gets one clear line, not a stack trace; the message already names the
          // phase and host (see LlmPoolException).
          String m = ex.getMessage();
          String line = m == null || m.isBlank() ? ex.toString() : m.lines().findFirst().orElse(m);
          commandLine.getErr().println("llmpool: " + line);
          commandLine.getErr().flush();
          return 1;
        });
    return cl;
  }

  @Override
  public void run() {
    // No subcommand: show what there is.
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  /** The version from the jar's manifest, or "dev" when run from classes. */
  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String v = Main.class.getPackage().getImplementationVersion();
      return new String[] {"llmpool " + (v == null ? "dev" : v)};
    }
  }
}
