package dev.llmpool.llm.internal;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.llmpool.Origin;
import dev.llmpool.llm.SseLimitExceededException;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;

class SseParserTest {

  /** An event as a test sees it: copied out of the parser's flyweight. */
  record Ev(String type, String data, @Nullable String id) {}

  /** Collects events and retry values. */
  static final class Collector implements SseParser.Handler {
    final List<Ev> events = new ArrayList<>();
    final List<Long> retries = new ArrayList<>();

    @Override
    public void onEvent(SseEvent e) {
      events.add(new Ev(e.type(), e.data(), e.lastEventId()));
    }

    @Override
    public void onRetry(long millis) {
      retries.add(millis);
    }
  }

  private static Collector parse(String stream) {
    return parse(stream.getBytes(UTF_8), 1 << 20);
  }

  private static Collector parse(byte[] stream, int chunk) {
    Collector c = new Collector();
    SseParser p = new SseParser(c);
    for (int i = 0; i < stream.length; i += chunk) {
      p.feed(stream, i, Math.min(chunk, stream.length - i));
    }
    p.finish();
    return c;
  }

  @Test
  void dataLinesWithAndWithoutTheSpaceGiveTheSameData() {
    assertThat(parse("data: hello\n\ndata:hello\n\ndata:  two spaces\n\n").events)
        .extracting(Ev::data)
        .containsExactly("hello", "hello", " two spaces");
  }

  @Test
  void multiLineDataIsJoinedWithLineFeeds() {
    assertThat(parse("data: first\ndata: second\ndata\ndata: third\n\n").events)
        .containsExactly(new Ev("message", "first\nsecond\n\nthird", null));
  }

  @Test
  void everyLineEndingEndsALine() {
    Collector lf = parse("event: a\ndata: x\n\n");
    Collector crlf = parse("event: a\r\ndata: x\r\n\r\n");
    Collector cr = parse("event: a\rdata: x\r\r");
    assertThat(lf.events).containsExactly(new Ev("a", "x", null));
    assertThat(crlf.events).isEqualTo(lf.events);
    assertThat(cr.events).isEqualTo(lf.events);
  }

  @Test
  void carriageReturnEndingOneChunkAndLineFeedStartingTheNextAreOneLineBreak() {
    Collector c = new Collector();
    SseParser p = new SseParser(c);
    feed(p, "data: a\r");
    feed(p, "\ndata: b\r");
    feed(p, "\n\r");
    feed(p, "\n");
    // Had the CR and LF counted twice, "a" would have been dispatched alone.
    assertThat(c.events).containsExactly(new Ev("message", "a\nb", null));
    assertThat(p.finish()).isFalse();
  }

  @Test
  void loneCarriageReturnAtTheEndOfAChunkFollowedByAnotherLineIsOneLineBreak() {
    Collector c = new Collector();
    SseParser p = new SseParser(c);
    feed(p, "data: a\r");
    feed(p, "\r");
    assertThat(c.events).containsExactly(new Ev("message", "a", null));
  }

  @Test
  void commentsAreIgnored() {
    assertThat(parse(": keep-alive\n\n:\ndata: x\n: between\n\n").events)
        .containsExactly(new Ev("message", "x", null));
  }

  @Test
  void anEmptyLineWithoutDataDispatchesNothingAndResetsTheType() {
    assertThat(parse("event: ping\n\ndata: x\n\n").events)
        .containsExactly(new Ev("message", "x", null));
  }

  @Test
  void anEmptyDataLineDispatchesAnEventWithEmptyData() {
    assertThat(parse("data\n\ndata:\n\n").events)
        .containsExactly(new Ev("message", "", null), new Ev("message", "", null));
  }

  @Test
  void eventTypeAppliesToOneEventOnly() {
    assertThat(parse("event: content_block_delta\ndata: 1\n\ndata: 2\n\n").events)
        .containsExactly(new Ev("content_block_delta", "1", null), new Ev("message", "2", null));
  }

  @Test
  void idPersistsAcrossEventsAndIsIgnoredWhenItHoldsNul() {
    Collector c = parse("id: 7\ndata: a\n\ndata: b\n\nid: x\u0000y\ndata: c\n\nid\ndata: d\n\n");
    assertThat(c.events)
        .containsExactly(
            new Ev("message", "a", "7"),
            new Ev("message", "b", "7"),
            new Ev("message", "c", "7"),
            new Ev("message", "d", ""));
  }

  @Test
  void retryWithDigitsOnlyIsReported() {
    Collector c = parse("retry: 1500\nretry: 15x\nretry:\nretry: 0\ndata: x\n\n");
    assertThat(c.retries).containsExactly(1500L, 0L);
  }

  @Test
  void unknownFieldsAndFieldsWithoutColonAreIgnored() {
    assertThat(parse("foo: bar\nevent\ndata: x\nDATA: y\n\n").events)
        .containsExactly(new Ev("message", "x", null));
  }

  @Test
  void onlyTheFirstColonSeparatesFieldAndValue() {
    assertThat(parse("data: {\"a\": \"b:c\"}\n\n").events)
        .extracting(Ev::data)
        .containsExactly("{\"a\": \"b:c\"}");
  }

  @Test
  void byteOrderMarkAtTheStartIsSkippedEvenWhenSplit() {
    byte[] bom = {(byte) 0xEF, (byte) 0xBB, (byte) 0xBF};
    byte[] stream = concat(bom, "data: x\n\n".getBytes(UTF_8));
    for (int chunk = 1; chunk <= stream.length; chunk++) {
      assertThat(parse(stream, chunk).events)
          .as("chunk size %d", chunk)
          .containsExactly(new Ev("message", "x", null));
    }
  }

  @Test
  void byteOrderMarkLaterInTheStreamIsData() {
    assertThat(parse("data: \uFEFFx\n\n").events).extracting(Ev::data).containsExactly("\uFEFFx");
  }

  @Test
  void aPartialByteOrderMarkIsContent() {
    // EF BB then 'd': not a BOM, so the two bytes start the first line (an unknown field).
    byte[] stream =
        concat(new byte[] {(byte) 0xEF, (byte) 0xBB}, "data: x\n\ndata: y\n\n".getBytes(UTF_8));
    assertThat(parse(stream, 1).events).extracting(Ev::data).containsExactly("y");
  }

  @Test
  void aMultiByteCharacterSplitAcrossChunksIsDecodedWhole() {
    byte[] stream = "data: h\u00e9llo \u4e16\u754c \uD83D\uDC4B\n\n".getBytes(UTF_8);
    for (int cut = 1; cut < stream.length; cut++) {
      Collector c = new Collector();
      SseParser p = new SseParser(c);
      p.feed(stream, 0, cut);
      p.feed(stream, cut, stream.length - cut);
      assertThat(c.events)
          .as("cut at %d", cut)
          .containsExactly(new Ev("message", "h\u00e9llo \u4e16\u754c \uD83D\uDC4B", null));
    }
  }

  @Test
  void malformedUtf8BecomesReplacementCharacters() {
    byte[] stream =
        concat("data: a".getBytes(UTF_8), new byte[] {(byte) 0xFF}, "b\n\n".getBytes(UTF_8));
    assertThat(parse(stream, 1).events).extracting(Ev::data).containsExactly("a\uFFFDb");
  }

  @Test
  void doneMarkerIsRecognised() {
    Collector c = new Collector();
    List<Boolean> done = new ArrayList<>();
    SseParser p = new SseParser(e -> done.add(e.isDone()));
    feed(p, "data: [DONE]\n\ndata: [DONE] \n\ndata: {}\n\n");
    assertThat(done).containsExactly(true, false, false);
    assertThat(c.events).isEmpty();
  }

  @Test
  void finishReportsAStreamCutInsideAnEvent() {
    Collector c = new Collector();
    SseParser cutInLine = new SseParser(c);
    feed(cutInLine, "data: {\"a\":");
    assertThat(cutInLine.finish()).isTrue();

    SseParser cutBeforeBlankLine = new SseParser(c);
    feed(cutBeforeBlankLine, "data: whole line\n");
    assertThat(cutBeforeBlankLine.finish()).isTrue();

    SseParser cutAfterEventField = new SseParser(c);
    feed(cutAfterEventField, "event: message_stop\n");
    assertThat(cutAfterEventField.finish()).isTrue();

    SseParser clean = new SseParser(c);
    feed(clean, "data: x\n\n: trailing comment\n");
    assertThat(clean.finish()).isFalse();
    // The incomplete events were discarded, as the rules say.
    assertThat(c.events).containsExactly(new Ev("message", "x", null));
  }

  @Test
  void aLineLongerThanTheBoundThrowsNamingTheLimitWhateverTheChunking() {
    Origin origin = Origin.of("https://api.example.com");
    String longLine = "data: " + "x".repeat(100) + "\n\n";
    for (int chunk : new int[] {1, 7, 64, 1000}) {
      SseParser p = new SseParser(e -> {}, 64, origin);
      byte[] bytes = longLine.getBytes(UTF_8);
      assertThatThrownBy(
              () -> {
                for (int i = 0; i < bytes.length; i += chunk) {
                  p.feed(bytes, i, Math.min(chunk, bytes.length - i));
                }
              })
          .as("chunk %d", chunk)
          .isInstanceOf(SseLimitExceededException.class)
          .hasMessageContaining("64 bytes")
          .hasMessageContaining("api.example.com")
          .satisfies(e -> assertThat(((SseLimitExceededException) e).limitBytes()).isEqualTo(64));
    }
  }

  @Test
  void aLineWithoutAnEndIsBoundedToo() {
    SseParser p = new SseParser(e -> {}, 64, null);
    byte[] x = "x".repeat(10).getBytes(UTF_8);
    assertThatThrownBy(
            () -> {
              for (int i = 0; i < 100; i++) {
                p.feed(x, 0, x.length);
              }
            })
        .isInstanceOf(SseLimitExceededException.class);
  }

  @Test
  void anEventWhoseDataGrowsPastTheBoundThrows() {
    SseParser p = new SseParser(e -> {}, 64, null);
    assertThatThrownBy(() -> feed(p, "data: 0123456789\n".repeat(10)))
        .isInstanceOf(SseLimitExceededException.class);
  }

  @Test
  void linesAndEventsUpToTheBoundPass() {
    Collector c = new Collector();
    SseParser p = new SseParser(c, 64, null);
    String value = "y".repeat(58); // "data: " + 58 = 64 bytes
    feed(p, "data: " + value + "\n\n");
    assertThat(c.events).extracting(Ev::data).containsExactly(value);
  }

  @Test
  void directBuffersAreRead() {
    Collector c = new Collector();
    SseParser p = new SseParser(c);
    byte[] bytes = "event: e\ndata: direct\n\n".getBytes(UTF_8);
    ByteBuffer direct = ByteBuffer.allocateDirect(bytes.length);
    direct.put(bytes).flip();
    p.feed(direct);
    assertThat(direct.hasRemaining()).isFalse();
    assertThat(c.events).containsExactly(new Ev("e", "direct", null));
  }

  @Test
  void heapBufferSlicesAreReadFromTheirPosition() {
    Collector c = new Collector();
    SseParser p = new SseParser(c);
    byte[] bytes = "XXXdata: slice\n\nYYY".getBytes(UTF_8);
    ByteBuffer b = ByteBuffer.wrap(bytes, 3, bytes.length - 6).slice();
    p.feed(b);
    assertThat(c.events).containsExactly(new Ev("message", "slice", null));
  }

  // ---- property: any cut gives the same events as the spec's reference algorithm ----

  @Test
  void randomStreamsCutAtRandomPointsGiveTheReferenceEvents() {
    long seed = Long.getLong("sse.seed", 0x5EEDL);
    Random random = new Random(seed);
    for (int run = 0; run < 400; run++) {
      byte[] stream = randomStream(random);
      List<Ev> expected = reference(stream);
      for (int cutting = 0; cutting < 6; cutting++) {
        List<int[]> chunks = cut(random, stream.length, cutting);
        Collector c = new Collector();
        SseParser p = new SseParser(c);
        for (int[] ch : chunks) {
          if (random.nextBoolean()) {
            p.feed(stream, ch[0], ch[1]);
          } else {
            p.feed(ByteBuffer.wrap(stream, ch[0], ch[1]));
          }
        }
        p.finish();
        String replay =
            "seed=" + seed + " run=" + run + " cutting=" + cutting + " stream=" + escape(stream);
        assertThat(c.events).as(replay).isEqualTo(expected);
      }
    }
  }

  @Test
  void referenceAlgorithmAgreesWithHandWrittenExpectations() {
    // Guards the property test's oracle.
    assertThat(
            reference(
                "\uFEFFevent: a\r\ndata: 1\rdata:2\n\n: c\nid: 9\ndata\n\ndata: cut"
                    .getBytes(UTF_8)))
        .containsExactly(new Ev("a", "1\n2", null), new Ev("message", "", "9"));
  }

  /** 1-byte chunks, random small and large chunks, and cuts around line breaks. */
  private static List<int[]> cut(Random random, int length, int strategy) {
    List<int[]> out = new ArrayList<>();
    int i = 0;
    while (i < length) {
      int n =
          switch (strategy) {
            case 0 -> 1;
            case 1 -> 1 + random.nextInt(3);
            case 2 -> 1 + random.nextInt(17);
            case 3 -> 1 + random.nextInt(200);
            case 4 -> random.nextInt(10) == 0 ? 0 : 1 + random.nextInt(9); // empty chunks too
            default -> length;
          };
      n = Math.min(n, length - i);
      out.add(new int[] {i, n});
      i += n;
    }
    return out;
  }

  private static final String[] ALPHABET = {
    "a",
    "b",
    "z",
    " ",
    ":",
    "{",
    "}",
    "\"",
    "\u00e9",
    "\u4e16",
    "\uD83D\uDE00",
    "[DONE]",
    "\t",
    "data"
  };
  private static final String[] EOL = {"\n", "\r\n", "\r"};

  private static String randomValue(Random r) {
    StringBuilder sb = new StringBuilder();
    int n = r.nextInt(8);
    for (int i = 0; i < n; i++) {
      sb.append(ALPHABET[r.nextInt(ALPHABET.length)]);
    }
    return sb.toString();
  }

  private static byte[] randomStream(Random r) {
    StringBuilder sb = new StringBuilder();
    if (r.nextInt(4) == 0) {
      sb.append('\uFEFF');
    }
    int lines = r.nextInt(30);
    for (int i = 0; i < lines; i++) {
      String eol = EOL[r.nextInt(EOL.length)];
      switch (r.nextInt(10)) {
        case 0 -> sb.append(eol); // dispatch
        case 1 -> sb.append(':').append(randomValue(r)).append(eol);
        case 2 ->
            sb.append("event:")
                .append(r.nextBoolean() ? " " : "")
                .append(randomValue(r))
                .append(eol);
        case 3 ->
            sb.append("id:").append(r.nextBoolean() ? " " : "").append(randomValue(r)).append(eol);
        case 4 -> sb.append("retry: ").append(r.nextInt(5000)).append(eol);
        case 5 -> sb.append(randomValue(r)).append(eol); // unknown field or bare name
        default ->
            sb.append("data")
                .append(r.nextBoolean() ? ":" : ": ")
                .append(randomValue(r))
                .append(eol);
      }
      if (r.nextInt(4) == 0) {
        sb.append(eol); // many dispatches
      }
    }
    if (r.nextBoolean()) {
      sb.append("data: tail"); // cut mid-event sometimes
    }
    return sb.toString().getBytes(UTF_8);
  }

  /** The EventSource rules, written plainly over the decoded text: the oracle. */
  static List<Ev> reference(byte[] stream) {
    String s = new String(stream, UTF_8);
    if (s.startsWith("\uFEFF")) {
      s = s.substring(1);
    }
    List<Ev> out = new ArrayList<>();
    StringBuilder data = new StringBuilder();
    String type = "";
    String lastId = null;
    int i = 0;
    while (true) {
      int j = i;
      while (j < s.length() && s.charAt(j) != '\r' && s.charAt(j) != '\n') {
        j++;
      }
      if (j == s.length()) {
        break; // no line end: discarded
      }
      String line = s.substring(i, j);
      i = j + 1;
      if (s.charAt(j) == '\r' && i < s.length() && s.charAt(i) == '\n') {
        i++;
      }
      if (line.isEmpty()) {
        if (data.length() == 0) {
          type = "";
          continue;
        }
        data.setLength(data.length() - 1);
        out.add(new Ev(type.isEmpty() ? "message" : type, data.toString(), lastId));
        data.setLength(0);
        type = "";
        continue;
      }
      if (line.startsWith(":")) {
        continue;
      }
      int colon = line.indexOf(':');
      String field = colon < 0 ? line : line.substring(0, colon);
      String value = colon < 0 ? "" : line.substring(colon + 1);
      if (value.startsWith(" ")) {
        value = value.substring(1);
      }
      switch (field) {
        case "data" -> data.append(value).append('\n');
        case "event" -> type = value;
        case "id" -> {
          if (value.indexOf('\u0000') < 0) {
            lastId = value;
          }
        }
        default -> {}
      }
    }
    return out;
  }

  private static void feed(SseParser p, String s) {
    byte[] b = s.getBytes(UTF_8);
    p.feed(b, 0, b.length);
  }

  private static byte[] concat(byte[]... parts) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (byte[] p : parts) {
      out.writeBytes(p);
    }
    return out.toByteArray();
  }

  private static String escape(byte[] b) {
    return new String(b, UTF_8).replace("\r", "\\r").replace("\n", "\\n");
  }
}
