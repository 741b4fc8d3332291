package dev.llmpool.llm.internal;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/** Recorded provider responses under {@code src/test/resources/llm}. */
final class Fixtures {
  private Fixtures() {}

  static String text(String name) {
    return new String(bytes(name), StandardCharsets.UTF_8);
  }

  static byte[] bytes(String name) {
    try (InputStream in = Fixtures.class.getResourceAsStream("/llm/" + name)) {
      if (in == null) {
        throw new IllegalArgumentException("no fixture " + name);
      }
      return in.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** A recorded stream split after each blank line: one string per event. */
  static List<String> events(String name) {
    String all = text(name);
    List<String> out = new ArrayList<>();
    int from = 0;
    int at;
    while ((at = all.indexOf("\n\n", from)) >= 0) {
      out.add(all.substring(from, at + 2));
      from = at + 2;
    }
    if (from < all.length()) {
      out.add(all.substring(from));
    }
    return out;
  }

  /** Feeds a recorded stream through the SSE parser into a stream decoder. */
  static Decoded decodeStream(ProviderCodec codec, byte[] stream, RecordingSink sink) {
    StreamDecoder d = codec.newStreamDecoder();
    SseParser p =
        new SseParser(
            e -> {
              try {
                d.onEvent(e, sink);
              } catch (IOException x) {
                throw new UncheckedIOException(x);
              }
            });
    p.feed(stream, 0, stream.length);
    p.finish();
    sink.finished = d.finished();
    return d.finish(sink);
  }

  /** Records what a stream decoder delivers. */
  static final class RecordingSink implements StreamSink {
    final List<String> texts = new ArrayList<>();
    final List<String> reasoning = new ArrayList<>();
    final List<dev.llmpool.llm.ToolCall> toolCalls = new ArrayList<>();
    boolean finished;

    @Override
    public void text(String text) {
      texts.add(text);
    }

    @Override
    public void reasoning(String text) {
      reasoning.add(text);
    }

    @Override
    public void toolCall(dev.llmpool.llm.ToolCall call) {
      toolCalls.add(call);
    }
  }
}
