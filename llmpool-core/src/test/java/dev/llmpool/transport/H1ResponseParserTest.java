package dev.llmpool.transport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class H1ResponseParserTest {

  /** Records what the parser delivers. */
  private static final class Recorder implements H1ResponseParser.Sink {
    final List<H1ResponseParser.Head> heads = new ArrayList<>();
    final ByteArrayOutputStream body = new ByteArrayOutputStream();

    @Override
    public void onHead(H1ResponseParser.Head head) {
      heads.add(head);
    }

    @Override
    public void onBody(ByteBuf slice) {
      byte[] b = new byte[slice.readableBytes()];
      slice.readBytes(b);
      slice.release();
      body.writeBytes(b);
    }

    String bodyText() {
      return body.toString(StandardCharsets.UTF_8);
    }
  }

  private static ByteBuf bytes(String s) {
    return Unpooled.copiedBuffer(s, StandardCharsets.ISO_8859_1);
  }

  /** Feeds {@code response} split at {@code split}; returns whether the response completed. */
  private static boolean feedSplit(H1ResponseParser p, String response, int split)
      throws H1ProtocolException {
    ByteBuf a = bytes(response.substring(0, split));
    ByteBuf b = bytes(response.substring(split));
    try {
      boolean done = p.feed(a);
      if (done) {
        return true;
      }
      return p.feed(b);
    } finally {
      a.release();
      b.release();
    }
  }

  private static final String CHUNKED =
      "HTTP/1.1 200 OK\r\n"
          + "Content-Type: text/event-stream\r\n"
          + "Transfer-Encoding: chunked\r\n"
          + "\r\n"
          + "5;ext=1\r\nhello\r\n"
          + "7\r\n, world\r\n"
          + "0\r\n"
          + "X-Trailer: yes\r\n"
          + "\r\n";

  @Test
  void parsesAContentLengthResponse() throws Exception {
    Recorder r = new Recorder();
    H1ResponseParser p = new H1ResponseParser(r, 65536);
    p.reset(false);
    String resp = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Id: a b \r\n\r\nhello";
    assertThat(feedSplit(p, resp, resp.length())).isTrue();
    H1ResponseParser.Head head = r.heads.get(0);
    assertThat(head.status()).isEqualTo(200);
    assertThat(head.headers()).containsExactly("Content-Length", "5", "X-Id", "a b");
    assertThat(head.keepAlive()).isTrue();
    assertThat(head.mustClose()).isFalse();
    assertThat(r.bodyText()).isEqualTo("hello");
  }

  @Test
  void chunkedBodyWithExtensionsAndTrailersParsesAtEverySplitPoint() throws Exception {
    for (int split = 0; split <= CHUNKED.length(); split++) {
      Recorder r = new Recorder();
      H1ResponseParser p = new H1ResponseParser(r, 65536);
      p.reset(false);
      assertThat(feedSplit(p, CHUNKED, split)).as("split at %d", split).isTrue();
      assertThat(r.bodyText()).as("split at %d", split).isEqualTo("hello, world");
      assertThat(r.heads).hasSize(1);
      assertThat(r.heads.get(0).mustClose()).isFalse();
    }
  }

  @Test
  void contentLengthBodyParsesAtEverySplitPointAndLeavesFollowingBytesUnread() throws Exception {
    String resp = "HTTP/1.1 201 Created\r\nContent-Length: 3\r\n\r\nabc";
    for (int split = 0; split <= resp.length(); split++) {
      Recorder r = new Recorder();
      H1ResponseParser p = new H1ResponseParser(r, 65536);
      p.reset(false);
      ByteBuf a = bytes(resp.substring(0, split));
      ByteBuf b = bytes(resp.substring(split) + "EXTRA");
      boolean done = p.feed(a) || p.feed(b);
      assertThat(done).isTrue();
      assertThat(b.readableBytes()).isEqualTo(5);
      assertThat(r.bodyText()).isEqualTo("abc");
      a.release();
      b.release();
    }
  }

  @Test
  void informationalResponsesAreSkipped() throws Exception {
    Recorder r = new Recorder();
    H1ResponseParser p = new H1ResponseParser(r, 65536);
    p.reset(false);
    String resp =
        "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: x\r\n\r\n"
            + "HTTP/1.1 204 No Content\r\n\r\n";
    assertThat(feedSplit(p, resp, 10)).isTrue();
    assertThat(r.heads).hasSize(1);
    assertThat(r.heads.get(0).status()).isEqualTo(204);
  }

  @Test
  void aResponseToHeadHasNoBodyWhateverItsContentLength() throws Exception {
    Recorder r = new Recorder();
    H1ResponseParser p = new H1ResponseParser(r, 65536);
    p.reset(true);
    String resp = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n";
    assertThat(feedSplit(p, resp, 5)).isTrue();
    assertThat(r.body.size()).isZero();
  }

  @Test
  void aBodyWithoutLengthRunsToTheEndOfTheConnection() throws Exception {
    Recorder r = new Recorder();
    H1ResponseParser p = new H1ResponseParser(r, 65536);
    p.reset(false);
    assertThat(feedSplit(p, "HTTP/1.1 200 OK\r\n\r\npart one, ", 20)).isFalse();
    assertThat(r.heads.get(0).mustClose()).isTrue();
    ByteBuf more = bytes("part two");
    assertThat(p.feed(more)).isFalse();
    more.release();
    assertThat(p.eof()).isTrue();
    assertThat(r.bodyText()).isEqualTo("part one, part two");
  }

  @Test
  void aTruncatedFixedLengthBodyIsIncompleteAtEof() throws Exception {
    Recorder r = new Recorder();
    H1ResponseParser p = new H1ResponseParser(r, 65536);
    p.reset(false);
    assertThat(feedSplit(p, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", 3)).isFalse();
    assertThat(p.remainingFixed()).isEqualTo(7);
    assertThat(p.eof()).isFalse();
  }

  @Test
  void connectionCloseAndHttp10AreNotKeptAlive() throws Exception {
    Recorder r = new Recorder();
    H1ResponseParser p = new H1ResponseParser(r, 65536);
    p.reset(false);
    feedSplit(
        p, "HTTP/1.1 200 OK\r\nConnection: keep-alive, close\r\nContent-Length: 0\r\n\r\n", 0);
    assertThat(r.heads.get(0).mustClose()).isTrue();

    p.reset(false);
    feedSplit(p, "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", 0);
    assertThat(r.heads.get(1).mustClose()).isTrue();

    p.reset(false);
    feedSplit(p, "HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n", 0);
    assertThat(r.heads.get(2).mustClose()).isFalse();
  }

  @Test
  void keepAliveTimeoutIsRead() throws Exception {
    Recorder r = new Recorder();
    H1ResponseParser p = new H1ResponseParser(r, 65536);
    p.reset(false);
    feedSplit(
        p, "HTTP/1.1 200 OK\r\nKeep-Alive: timeout=5, max=100\r\nContent-Length: 0\r\n\r\n", 7);
    assertThat(r.heads.get(0).keepAliveTimeoutSeconds()).isEqualTo(5);
    assertThat(H1ResponseParser.parseKeepAliveTimeout("max=3")).isEqualTo(-1);
    assertThat(H1ResponseParser.parseKeepAliveTimeout("timeout = 12")).isEqualTo(12);
  }

  @Test
  void transferEncodingWithContentLengthIsChunkedAndNotReused() throws Exception {
    Recorder r = new Recorder();
    H1ResponseParser p = new H1ResponseParser(r, 65536);
    p.reset(false);
    String resp =
        "HTTP/1.1 200 OK\r\nContent-Length: 99\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n";
    assertThat(feedSplit(p, resp, 30)).isTrue();
    assertThat(r.bodyText()).isEqualTo("x");
    assertThat(r.heads.get(0).mustClose()).isTrue();
  }

  @Test
  void malformedInputIsAProtocolErrorWithoutHeaderValues() {
    String[] bad = {
      "garbage\r\n\r\n",
      "HTTP/1.1 2x0 OK\r\n\r\n",
      "HTTP/2.0 200 OK\r\n\r\n",
      "HTTP/1.1 200 OK\r\nBad Name: secret-token\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nxy\r\n",
      "HTTP/1.1 101 Switching Protocols\r\n\r\n",
    };
    for (String b : bad) {
      H1ResponseParser p = new H1ResponseParser(new Recorder(), 65536);
      p.reset(false);
      assertThatThrownBy(() -> feedSplit(p, b, b.length()))
          .as(b)
          .isInstanceOf(H1ProtocolException.class)
          .satisfies(e -> assertThat(e.getMessage()).doesNotContain("secret-token"));
    }
  }

  @Test
  void aRepeatedHeadReusesItsStringsAndReadsTheFieldsThatChanged() throws Exception {
    Recorder r = new Recorder();
    H1ResponseParser p = new H1ResponseParser(r, 65536);
    String[] dates = {"Tue, 24 Nov 2026 11:00:00 GMT", "Tue, 24 Nov 2026 11:00:01 GMT"};
    String[] lengths = {"5", "6"};
    for (int i = 0; i < 4; i++) {
      p.reset(false);
      String date = dates[i / 2];
      String length = lengths[i % 2];
      String body = "hello!".substring(0, Integer.parseInt(length));
      String resp =
          "HTTP/1.1 200 OK\r\nServer: nginx\r\nDate: "
              + date
              + "\r\nContent-Length: "
              + length
              + "\r\n\r\n"
              + body;
      assertThat(feedSplit(p, resp, 20 + i)).as("response %d", i).isTrue();
      assertThat(r.heads.get(i).headers())
          .as("response %d", i)
          .containsExactly("Server", "nginx", "Date", date, "Content-Length", length);
      assertThat(r.heads.get(i).contentLength()).isEqualTo(body.length());
    }
    // Unchanged fields are the previous response's strings, not new ones.
    assertThat(r.heads.get(1).headers()[1]).isSameAs(r.heads.get(0).headers()[1]);
    assertThat(r.heads.get(1).headers()[3]).isSameAs(r.heads.get(0).headers()[3]);
    assertThat(r.bodyText()).isEqualTo("hellohello!hellohello!");
  }

  @Test
  void aFieldOfTheSameLengthButOtherBytesIsNotTakenForThePreviousOne() throws Exception {
    Recorder r = new Recorder();
    H1ResponseParser p = new H1ResponseParser(r, 65536);
    p.reset(false);
    feedSplit(p, "HTTP/1.1 200 OK\r\nX-A: abc\r\nContent-Length: 0\r\n\r\n", 0);
    p.reset(false);
    feedSplit(p, "HTTP/1.1 200 OK\r\nX-B: abd\r\nContent-Length: 0\r\n\r\n", 0);
    p.reset(false);
    feedSplit(p, "HTTP/1.1 200 OK\r\nX-B: \u00e9bd\r\nContent-Length: 0\r\n\r\n", 0);
    assertThat(r.heads.get(1).headers()).containsExactly("X-B", "abd", "Content-Length", "0");
    assertThat(r.heads.get(2).headers()).containsExactly("X-B", "\u00e9bd", "Content-Length", "0");
  }

  @Test
  void aListOfEqualContentLengthsIsOneLength() throws Exception {
    Recorder r = new Recorder();
    H1ResponseParser p = new H1ResponseParser(r, 65536);
    p.reset(false);
    assertThat(feedSplit(p, "HTTP/1.1 200 OK\r\nContent-Length: 3 , 3,3\r\n\r\nabc", 0)).isTrue();
    assertThat(r.heads.get(0).contentLength()).isEqualTo(3);
    for (String bad : new String[] {"3, 4", "3,", ",3", "3 3", "1234567890123456789"}) {
      H1ResponseParser q = new H1ResponseParser(new Recorder(), 65536);
      q.reset(false);
      String resp = "HTTP/1.1 200 OK\r\nContent-Length: " + bad + "\r\n\r\nabc";
      assertThatThrownBy(() -> feedSplit(q, resp, 0))
          .as(bad)
          .isInstanceOf(H1ProtocolException.class);
    }
  }

  @Test
  void aSingleConnectionTokenIsReadWithoutAList() throws Exception {
    Recorder r = new Recorder();
    H1ResponseParser p = new H1ResponseParser(r, 65536);
    for (String v : new String[] {"close", "Close", "keep-alive"}) {
      p.reset(false);
      feedSplit(p, "HTTP/1.1 200 OK\r\nConnection: " + v + "\r\nContent-Length: 0\r\n\r\n", 0);
    }
    assertThat(r.heads.get(0).mustClose()).isTrue();
    assertThat(r.heads.get(1).mustClose()).isTrue();
    assertThat(r.heads.get(2).mustClose()).isFalse();
  }

  @Test
  void aHeadLargerThanTheLimitIsRefused() {
    H1ResponseParser p = new H1ResponseParser(new Recorder(), 100);
    p.reset(false);
    String resp = "HTTP/1.1 200 OK\r\nX-Big: " + "a".repeat(200) + "\r\n\r\n";
    assertThatThrownBy(() -> feedSplit(p, resp, 50))
        .isInstanceOf(H1ProtocolException.class)
        .hasMessageContaining("100 bytes");
  }

  @Test
  void obsoleteLineFoldingJoinsTheValue() throws Exception {
    Recorder r = new Recorder();
    H1ResponseParser p = new H1ResponseParser(r, 65536);
    p.reset(false);
    feedSplit(p, "HTTP/1.1 200 OK\nX-A: one\n  two\nContent-Length: 0\n\n", 12);
    assertThat(r.heads.get(0).headers()).containsExactly("X-A", "one two", "Content-Length", "0");
  }
}
