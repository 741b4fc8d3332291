package dev.llmpool.transport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersEncoder;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2HeadersEncoder;
import io.netty.util.AsciiString;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The response header collector behind HTTP/2 connections, fed by Netty's real HPACK decoder. */
class HeaderBlockTest {

  private static ByteBuf encode(Http2Headers headers) throws Http2Exception {
    ByteBuf out = Unpooled.buffer();
    // Huffman-code every literal, as nginx does.
    new DefaultHttp2HeadersEncoder(Http2HeadersEncoder.NEVER_SENSITIVE, true)
        .encodeHeaders(3, headers, out);
    return out;
  }

  private static Http2Headers decode(Http2Headers sent) throws Http2Exception {
    ByteBuf block = encode(sent);
    try {
      return HeaderBlock.decoder(64 * 1024).decodeHeaders(3, block);
    } finally {
      block.release();
    }
  }

  @Test
  void keepsEveryFieldInArrivalOrderWithRepeatsAndAnswersLookups() throws Exception {
    Http2Headers sent = new DefaultHttp2Headers(false);
    sent.status("200");
    sent.add("content-type", "application/json");
    sent.add("set-cookie", "a=1");
    sent.add("content-length", "743");
    sent.add("set-cookie", "b=2");

    Http2Headers got = decode(sent);

    assertThat(got).isInstanceOf(HeaderBlock.class);
    List<String> order = new ArrayList<>();
    for (Map.Entry<CharSequence, CharSequence> e : got) {
      order.add(e.getKey() + "=" + e.getValue());
    }
    assertThat(order)
        .containsExactly(
            ":status=200",
            "content-type=application/json",
            "set-cookie=a=1",
            "content-length=743",
            "set-cookie=b=2");
    assertThat(got.status()).hasToString("200");
    assertThat(got.size()).isEqualTo(5);
    assertThat(got.get("Content-Type")).hasToString("application/json");
    assertThat(got.getAll("set-cookie"))
        .extracting(CharSequence::toString)
        .containsExactly("a=1", "b=2");
    assertThat(got.getAll("x-absent")).isEmpty();
    assertThat(got.contains("set-cookie", "B=2", true)).isTrue();
    assertThat(got.contains("set-cookie", "B=2", false)).isFalse();
    assertThat(got.names()).hasSize(4);
  }

  @Test
  void contentLengthAsNettysDecoderSetsItKeepsTheReceivedTextWhenTheNumberMatches() {
    HeaderBlock h = new HeaderBlock(4);
    h.add(AsciiString.of(":status"), "200").add("content-length", " 42");
    CharSequence before = h.get("content-length");

    h.setLong("content-length", 42);
    assertThat(h.get("content-length")).isSameAs(before);

    h.setLong("content-length", 7);
    assertThat(h.getAll("content-length")).extracting(CharSequence::toString).containsExactly("7");
    assertThat(h.size()).isEqualTo(2);
  }

  @Test
  void contentLengthIsReadInPlaceAndAnythingButOneDecimalIsUnknown() {
    assertThat(HeaderBlock.length("743")).isEqualTo(743);
    assertThat(HeaderBlock.length(AsciiString.of(" \t0 "))).isZero();
    assertThat(HeaderBlock.length("999999999999999999")).isEqualTo(999_999_999_999_999_999L);
    assertThat(HeaderBlock.length("9999999999999999999")).isEqualTo(-1);
    assertThat(HeaderBlock.length("")).isEqualTo(-1);
    assertThat(HeaderBlock.length("  ")).isEqualTo(-1);
    assertThat(HeaderBlock.length("-1")).isEqualTo(-1);
    assertThat(HeaderBlock.length("7,7")).isEqualTo(-1);
    assertThat(HeaderBlock.length("0x10")).isEqualTo(-1);
  }

  @Test
  void growsPastItsFirstGuessAndRemovesFields() {
    HeaderBlock h = new HeaderBlock(1);
    for (int i = 0; i < 40; i++) {
      h.add("x-f" + i, "v" + i);
    }
    assertThat(h.size()).isEqualTo(40);
    assertThat(h.value(39)).hasToString("v39");
    assertThat(h.remove("x-f3")).isTrue();
    assertThat(h.remove("x-f3")).isFalse();
    assertThat(h.size()).isEqualTo(39);
    assertThat(h.name(3)).hasToString("x-f4");
  }

  @Test
  void refusesNamesAnHttp2ServerMustNotSend() {
    HeaderBlock h = new HeaderBlock(4);
    assertThatThrownBy(() -> h.add("Content-Type", "x"))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> h.add("bad name", "x")).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> h.add(":weird", "x")).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> h.add("", "x")).isInstanceOf(IllegalArgumentException.class);
    assertThat(h.size()).isZero();
  }

  @Test
  void anUpperCaseNameOnTheWireFailsTheDecodeAsAConnectionError() throws Exception {
    Http2Headers sent = new DefaultHttp2Headers(false);
    sent.status("200");
    sent.add("X-Upper", "1");
    ByteBuf block = encode(sent);
    try {
      assertThatThrownBy(() -> HeaderBlock.decoder(64 * 1024).decodeHeaders(3, block))
          .isInstanceOf(Http2Exception.class);
    } finally {
      block.release();
    }
  }

  @Test
  void aRequestBlockRefilledForEachRequestEncodesWhatItHoldsThatTime() throws Exception {
    HeaderBlock h = new HeaderBlock(2);
    for (int round = 0; round < 3; round++) {
      h.clear();
      h.addTrusted(":method", "POST")
          .addTrusted(":path", "/v" + round)
          .addTrusted("authorization", "Bearer k" + round);
      ByteBuf block = encode(h);
      try {
        HeaderBlock got = (HeaderBlock) HeaderBlock.decoder(64 * 1024).decodeHeaders(3, block);
        assertThat(got.size()).isEqualTo(3);
        assertThat(got.value(1)).hasToString("/v" + round);
        assertThat(got.value(2)).hasToString("Bearer k" + round);
      } finally {
        block.release();
      }
    }
    // The one cursor: each entry is read before the next, and a new iteration starts over.
    for (int pass = 0; pass < 2; pass++) {
      List<String> seen = new ArrayList<>();
      for (Map.Entry<CharSequence, CharSequence> e : h) {
        seen.add(e.getKey() + "=" + e.getValue());
      }
      assertThat(seen).containsExactly(":method=POST", ":path=/v2", "authorization=Bearer k2");
    }
    assertThat(h.iterator().next().toString()).isEqualTo(":method");
    assertThat(h.toString()).doesNotContain("Bearer");
  }

  @Test
  void toStringNamesTheFieldsButNeverTheirValues() {
    HeaderBlock h = new HeaderBlock(4);
    h.add("set-cookie", "session=secret-value");
    assertThat(h.toString()).contains("set-cookie").doesNotContain("secret-value");
  }
}
