package dev.llmpool;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;

/**
 * Captures what slf4j-simple (the tests' SLF4J binding) writes to {@code System.err} while open,
 * still passing it through. slf4j-simple looks {@code System.err} up at every line, so swapping the
 * stream is enough.
 */
final class StderrCapture implements AutoCloseable {
  private final PrintStream original = System.err;
  private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();

  StderrCapture() {
    PrintStream tee =
        new PrintStream(
            new java.io.OutputStream() {
              @Override
              public synchronized void write(int b) {
                bytes.write(b);
                original.write(b);
              }

              @Override
              public synchronized void write(byte[] b, int off, int len) {
                bytes.write(b, off, len);
                original.write(b, off, len);
              }
            },
            true,
            StandardCharsets.UTF_8);
    System.setErr(tee);
  }

  /** The captured lines that contain {@code text}. */
  synchronized List<String> lines(String text) {
    String all = bytes.toString(StandardCharsets.UTF_8);
    return Arrays.stream(all.split("\\R"))
        .filter(l -> l.contains(text))
        .collect(Collectors.toList());
  }

  @Override
  public void close() {
    System.setErr(original);
  }
}
