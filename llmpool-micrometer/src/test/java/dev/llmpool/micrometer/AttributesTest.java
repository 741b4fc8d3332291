package dev.llmpool.micrometer;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llmpool.CallCancelledException;
import dev.llmpool.ConnectFailedException;
import dev.llmpool.ConnectTimeoutException;
import dev.llmpool.ConnectionLostException;
import dev.llmpool.DnsException;
import dev.llmpool.HttpProtocolException;
import dev.llmpool.LlmPoolException;
import dev.llmpool.Origin;
import dev.llmpool.Phase;
import dev.llmpool.PoolClosedException;
import dev.llmpool.PoolFullException;
import dev.llmpool.PoolTimeoutException;
import dev.llmpool.ReadTimeoutException;
import dev.llmpool.ResponseTooLargeException;
import dev.llmpool.TlsException;
import dev.llmpool.TotalTimeoutException;
import dev.llmpool.WriteTimeoutException;
import dev.llmpool.llm.ApiError;
import dev.llmpool.llm.ApiStatusException;
import dev.llmpool.llm.RateLimits;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CancellationException;
import org.junit.jupiter.api.Test;

/** Tag values come from fixed sets, whatever the request. */
class AttributesTest {
  static final Origin O = Origin.of("https://api.example.com");
  static final Duration D = Duration.ofSeconds(1);

  @Test
  void methodsOutsideTheStandardOnesAreOther() {
    assertThat(Attributes.method("POST")).isEqualTo("POST");
    assertThat(Attributes.method("PATCH")).isEqualTo("PATCH");
    assertThat(Attributes.method("post")).isEqualTo("_OTHER");
    assertThat(Attributes.method("X-SECRET-sk-123")).isEqualTo("_OTHER");
  }

  @Test
  void statusesAreDigitsEmptyWhenAbsentAndOtherWhenNotHttp() {
    assertThat(Attributes.status(200)).isEqualTo("200");
    assertThat(Attributes.status(529)).isEqualTo("529");
    assertThat(Attributes.status(0)).isEmpty();
    assertThat(Attributes.status(999)).isEqualTo("_OTHER");
    assertThat(Attributes.status(200)).isSameAs(Attributes.status(200));
  }

  @Test
  void protocolVersionsAreOpenTelemetrys() {
    assertThat(Attributes.protocolVersion("HTTP/1.1")).isEqualTo("1.1");
    assertThat(Attributes.protocolVersion("HTTP/2")).isEqualTo("2");
    assertThat(Attributes.protocolVersion(null)).isEmpty();
    assertThat(Attributes.protocolVersion("SPDY/3")).isEqualTo("_OTHER");
  }

  @Test
  void everyLlmpoolFailureHasItsErrorType() {
    assertThat(Attributes.errorType(new PoolTimeoutException(O, "t", D, null)))
        .isEqualTo("pool_timeout");
    assertThat(Attributes.errorType(new PoolFullException(O, "f"))).isEqualTo("pool_full");
    assertThat(Attributes.errorType(new PoolClosedException(O, "c"))).isEqualTo("pool_closed");
    assertThat(Attributes.errorType(new CallCancelledException(Phase.READ, O, true)))
        .isEqualTo("cancelled");
    assertThat(Attributes.errorType(new DnsException(O, "d", false, null))).isEqualTo("dns");
    assertThat(Attributes.errorType(new ConnectTimeoutException(O, "c", D, false, null)))
        .isEqualTo("connect_timeout");
    assertThat(Attributes.errorType(new ConnectFailedException(O, "c", false, null)))
        .isEqualTo("connect_failed");
    assertThat(Attributes.errorType(new TlsException(O, "t", false, null))).isEqualTo("tls");
    assertThat(Attributes.errorType(new WriteTimeoutException(O, "w", D, true, null)))
        .isEqualTo("write_timeout");
    assertThat(Attributes.errorType(new ReadTimeoutException(O, "r", D, true, null)))
        .isEqualTo("read_timeout");
    assertThat(Attributes.errorType(new TotalTimeoutException(O, "t", D, true, null)))
        .isEqualTo("total_timeout");
    assertThat(Attributes.errorType(new ResponseTooLargeException(O, "r", 1, null)))
        .isEqualTo("response_too_large");
    assertThat(Attributes.errorType(new HttpProtocolException(O, "p", true, null)))
        .isEqualTo("protocol_error");
    assertThat(Attributes.errorType(new ConnectionLostException(Phase.READ, O, "l", true, null)))
        .isEqualTo("connection_lost");
    assertThat(Attributes.errorType(new LlmPoolException(Phase.READ, O, "x", true, null)))
        .isEqualTo("_OTHER");
  }

  @Test
  void anErrorStatusIsTheErrorTypeOfACallThatGotAnAnswer() {
    assertThat(Attributes.errorType(200, null)).isEmpty();
    assertThat(Attributes.errorType(302, null)).isEmpty();
    assertThat(Attributes.errorType(429, null)).isEqualTo("429");
    assertThat(Attributes.errorType(503, null)).isEqualTo("503");
    assertThat(Attributes.errorType(200, new CallCancelledException(Phase.READ, O, true)))
        .isEqualTo("cancelled");
  }

  @Test
  void aChatCallsErrorTypeIsTheProvidersStatusOrTheFailuresKind() {
    ApiError overloaded =
        new ApiError(529, "busy", null, null, null, null, RateLimits.NONE, Map.of(), false, "");
    assertThat(Attributes.chatErrorType(ApiStatusException.of(O, overloaded))).isEqualTo("529");
    assertThat(Attributes.chatErrorType(new ReadTimeoutException(O, "r", D, true, null)))
        .isEqualTo("read_timeout");
    assertThat(Attributes.chatErrorType(new CancellationException())).isEqualTo("cancelled");
    assertThat(Attributes.chatErrorType(new IllegalStateException("listener sk-123 failed")))
        .isEqualTo("_OTHER");
    assertThat(Attributes.chatErrorType(null)).isEmpty();
  }

  @Test
  void providersAndOperationsComeFromFixedSets() {
    assertThat(Attributes.provider("openai")).isEqualTo("openai");
    assertThat(Attributes.provider("anthropic")).isEqualTo("anthropic");
    assertThat(Attributes.provider("my-proxy")).isEqualTo("_OTHER");
    assertThat(Attributes.operation("chat")).isEqualTo("chat");
    assertThat(Attributes.operation("whatever")).isEqualTo("_OTHER");
  }

  @Test
  void modelNamesAreCappedAndOddOnesAreOther() {
    Attributes.ModelNames names = new Attributes.ModelNames(2);
    assertThat(names.of("gpt-4o")).isEqualTo("gpt-4o");
    assertThat(names.of(null)).isEmpty();
    assertThat(names.of("bad name")).as("not counted against the cap").isEqualTo("_OTHER");
    assertThat(names.of("claude-3-5-haiku@20241022")).isEqualTo("claude-3-5-haiku@20241022");
    assertThat(names.of("gpt-4o")).as("a name seen before keeps its value").isEqualTo("gpt-4o");
    assertThat(names.of("third")).as("beyond the cap").isEqualTo("_OTHER");

    Attributes.ModelNames wide = new Attributes.ModelNames(100);
    assertThat(wide.of("accounts/fireworks/models/llama-v3p1-8b"))
        .isEqualTo("accounts/fireworks/models/llama-v3p1-8b");
    assertThat(wide.of("qwen2.5:7b-instruct")).isEqualTo("qwen2.5:7b-instruct");
    assertThat(wide.of("")).isEqualTo("_OTHER");
    assertThat(wide.of("has space")).isEqualTo("_OTHER");
    assertThat(wide.of("line\nbreak")).isEqualTo("_OTHER");
    assertThat(wide.of("m".repeat(101))).isEqualTo("_OTHER");
    assertThat(wide.of("m".repeat(100))).isEqualTo("m".repeat(100));
  }
}
