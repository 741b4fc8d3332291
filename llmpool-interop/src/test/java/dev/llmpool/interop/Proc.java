package dev.llmpool.interop;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;

/**
 * A server process the suite started: stdout lines are queued (the servers announce their ports
 * there), stderr goes to a file. {@link #close()} ends it — by its own pid only — and waits for it.
 */
final class Proc implements AutoCloseable {
  private final String name;
  private final Process process;
  private final BlockingQueue<String> lines = new LinkedBlockingQueue<>();

  private Proc(String name, Process process) {
    this.name = name;
    this.process = process;
    Thread reader =
        new Thread(
            () -> {
              try (BufferedReader r =
                  new BufferedReader(
                      new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                for (String l; (l = r.readLine()) != null; ) {
                  lines.add(l);
                }
              } catch (IOException e) {
                // The process ended.
              }
            },
            name + "-stdout");
    reader.setDaemon(true);
    reader.start();
  }

  /** Starts {@code command}; stderr goes to {@code stderr}. */
  static Proc start(String name, List<String> command, Path stderr) {
    ProcessBuilder pb = new ProcessBuilder(command);
    pb.redirectError(ProcessBuilder.Redirect.appendTo(stderr.toFile()));
    try {
      return new Proc(name, pb.start());
    } catch (IOException e) {
      throw new UncheckedIOException("could not start " + name + ": " + command, e);
    }
  }

  /** The next stdout line starting with {@code prefix}, or fails after {@code bound}. */
  String awaitLine(String prefix, Duration bound) {
    long deadline = System.nanoTime() + bound.toNanos();
    try {
      while (true) {
        long left = deadline - System.nanoTime();
        @Nullable String l = lines.poll(Math.max(0, left), TimeUnit.NANOSECONDS);
        if (l == null) {
          throw new AssertionError(
              name
                  + " did not print '"
                  + prefix
                  + "' within "
                  + bound
                  + " (alive="
                  + isAlive()
                  + ")");
        }
        if (l.startsWith(prefix)) {
          return l;
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  long pid() {
    return process.pid();
  }

  boolean isAlive() {
    return process.isAlive();
  }

  /** Waits up to {@code bound} for the process to end by itself; true when it did. */
  boolean awaitExit(Duration bound) {
    try {
      return process.waitFor(bound.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  /** Node servers: they exit when their stdin ends. */
  @Override
  public void close() {
    try {
      process.getOutputStream().close();
    } catch (IOException e) {
      // already gone
    }
    if (!awaitExit(Duration.ofSeconds(3))) {
      terminate();
    }
  }

  /** SIGTERM (nginx: fast shutdown), then SIGKILL if it does not end. */
  void terminate() {
    if (process.isAlive()) {
      process.destroy();
      if (!awaitExit(Duration.ofSeconds(5))) {
        process.destroyForcibly();
        awaitExit(Duration.ofSeconds(5));
      }
    }
  }
}
