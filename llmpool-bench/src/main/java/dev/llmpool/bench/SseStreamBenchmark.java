package dev.llmpool.bench;

import dev.llmpool.llm.ToolCall;
import dev.llmpool.llm.internal.AnthropicCodec;
import dev.llmpool.llm.internal.OpenAiCodec;
import dev.llmpool.llm.internal.ProviderCodec;
import dev.llmpool.llm.internal.SseParser;
import dev.llmpool.llm.internal.StreamDecoder;
import dev.llmpool.llm.internal.StreamSink;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * The per-token cost of a streamed answer on the client: SSE parsing alone, and SSE parsing plus
 * the provider's delta decoding, over a recorded-shape stream of {@value #TOKENS} tokens delivered
 * one network chunk per event (as servers flush them). Scores are per token; run with {@code -prof
 * gc} for bytes allocated per token.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class SseStreamBenchmark {
  static final int TOKENS = 200;

  private List<byte[]> openAiChunks = List.of();
  private List<byte[]> anthropicChunks = List.of();
  private final OpenAiCodec openAi = new OpenAiCodec(OpenAiCodec.MAX_TOKENS, true);
  private final AnthropicCodec anthropic = new AnthropicCodec();

  @Setup
  public void setUp() {
    List<String> o = new ArrayList<>();
    List<String> a = new ArrayList<>();
    a.add(
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\","
            + "\"role\":\"assistant\",\"content\":[],\"model\":\"claude\",\"stop_reason\":null,"
            + "\"usage\":{\"input_tokens\":25,\"output_tokens\":1}}}\n\n"
            + "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,"
            + "\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n");
    for (int i = 0; i < TOKENS; i++) {
      String token = i % 3 == 0 ? " token" : "s\u00e9q";
      o.add(
          "data: {\"id\":\"chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT\",\"object\":\"chat.completion.chunk\","
              + "\"created\":1741569952,\"model\":\"gpt-4o-mini-2024-07-18\",\"system_fingerprint\":\"fp_44709d6fcb\","
              + "\"choices\":[{\"index\":0,\"delta\":{\"content\":\""
              + token
              + "\"},\"logprobs\":null,\"finish_reason\":null}],\"usage\":null}\n\n");
      a.add(
          "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,"
              + "\"delta\":{\"type\":\"text_delta\",\"text\":\""
              + token
              + "\"}}\n\n");
    }
    o.add(
        "data: {\"id\":\"chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT\",\"object\":\"chat.completion.chunk\","
            + "\"created\":1741569952,\"model\":\"gpt-4o-mini-2024-07-18\",\"choices\":[{\"index\":0,\"delta\":{},"
            + "\"finish_reason\":\"stop\"}],\"usage\":null}\n\ndata: [DONE]\n\n");
    a.add(
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
            + "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},"
            + "\"usage\":{\"output_tokens\":200}}\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n");
    openAiChunks = bytes(o);
    anthropicChunks = bytes(a);
  }

  private static List<byte[]> bytes(List<String> chunks) {
    List<byte[]> out = new ArrayList<>(chunks.size());
    for (String c : chunks) {
      out.add(c.getBytes(StandardCharsets.UTF_8));
    }
    return out;
  }

  /** SSE framing only: the floor under any provider's stream. */
  @Benchmark
  @OperationsPerInvocation(TOKENS)
  public void sseParseOnly(Blackhole bh) {
    SseParser p = new SseParser(e -> bh.consume(e.dataLength()));
    for (byte[] c : openAiChunks) {
      p.feed(c, 0, c.length);
    }
    bh.consume(p.finish());
  }

  /** An OpenAI chat.completion.chunk stream: framing, delta decoding, the text to a listener. */
  @Benchmark
  @OperationsPerInvocation(TOKENS)
  public void openAiStream(Blackhole bh) {
    decode(openAi, openAiChunks, bh);
  }

  /**
   * An Anthropic messages stream: framing, content_block_delta decoding, the text to a listener.
   */
  @Benchmark
  @OperationsPerInvocation(TOKENS)
  public void anthropicStream(Blackhole bh) {
    decode(anthropic, anthropicChunks, bh);
  }

  private static void decode(ProviderCodec codec, List<byte[]> chunks, Blackhole bh) {
    StreamDecoder d = codec.newStreamDecoder();
    StreamSink sink =
        new StreamSink() {
          @Override
          public void text(String text) {
            bh.consume(text);
          }

          @Override
          public void reasoning(String text) {
            bh.consume(text);
          }

          @Override
          public void toolCall(ToolCall call) {
            bh.consume(call);
          }
        };
    SseParser p =
        new SseParser(
            e -> {
              try {
                d.onEvent(e, sink);
              } catch (IOException x) {
                throw new UncheckedIOException(x);
              }
            });
    for (byte[] c : chunks) {
      p.feed(c, 0, c.length);
    }
    bh.consume(d.finish(sink));
  }
}
