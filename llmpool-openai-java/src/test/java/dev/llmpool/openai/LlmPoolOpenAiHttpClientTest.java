package dev.llmpool.openai;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.openai.core.RequestOptions;
import com.openai.core.Timeout;
import com.openai.core.http.HttpMethod;
import com.openai.core.http.HttpRequest;
import com.openai.core.http.HttpRequestBody;
import com.openai.core.http.HttpResponse;
import com.openai.errors.OpenAIIoException;
import dev.llmpool.LlmPool;
import dev.llmpool.LlmPoolException;
import dev.llmpool.testkit.Fault;
import dev.llmpool.testkit.MockLlmServer;
import dev.llmpool.testkit.Reply;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The HTTP client contract below the SDK: bodies, timeouts, closing. */
class LlmPoolOpenAiHttpClientTest {
  private static final String CHAT =
      "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";

  /** A body the SDK says cannot be sent twice (as a streamed upload would be). */
  private static final class OneShotBody implements HttpRequestBody {
    final AtomicInteger writes = new AtomicInteger();
    final AtomicBoolean closed = new AtomicBoolean();

    @Override
    public void writeTo(OutputStream out) {
      writes.incrementAndGet();
      try {
        out.write(CHAT.getBytes(StandardCharsets.UTF_8));
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }

    @Override
    public String contentType() {
      return "application/json";
    }

    @Override
    public long contentLength() {
      return -1;
    }

    @Override
    public boolean repeatable() {
      return false;
    }

    @Override
    public void close() {
      closed.set(true);
    }
  }

  private static HttpRequest chat(MockLlmServer server, HttpRequestBody body) {
    return HttpRequest.builder()
        .method(HttpMethod.POST)
        .baseUrl(server.url("/v1").toString())
        .addPathSegments("chat", "completions")
        .putHeader("Authorization", "Bearer sk-test")
        .body(body)
        .build();
  }

  @Test
  void aNonRepeatableBodyIsNeverResentByLlmPool() {
    try (MockLlmServer server = Proto.H2C.server().start();
        LlmPool pool = Proto.H2C.pool(server).build();
        LlmPoolOpenAiHttpClient client = LlmPoolOpenAiHttpClient.of(pool)) {
      server.enqueue(Reply.fault(Fault.REFUSE_STREAM));
      OneShotBody body = new OneShotBody();
      // A refused stream is provably unprocessed, and llmpool would re-send it: not this one.
      assertThatThrownBy(() -> client.execute(chat(server, body), RequestOptions.none()))
          .isInstanceOf(OpenAIIoException.class)
          .satisfies(
              e ->
                  assertThat(((LlmPoolException) e.getCause()).requestMayHaveBeenProcessed())
                      .isFalse());
      assertThat(server.requests()).hasSize(1);
      assertThat(body.writes).hasValue(1);
      assertThat(body.closed).isTrue();

      // The same body type, answered: it goes out once and the answer streams back.
      try (HttpResponse r =
          client.execute(chat(server, new OneShotBody()), RequestOptions.none())) {
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().values("content-type").get(0)).startsWith("application/json");
      }
    }
  }

  @Test
  void onlyATimeoutTheCallerSetBecomesTheCallsTotalLimit() {
    assertThat(LlmPoolOpenAiHttpClient.callTimeout(null)).isNull();
    assertThat(LlmPoolOpenAiHttpClient.callTimeout(Timeout.builder().build())).isNull();
    assertThat(
            LlmPoolOpenAiHttpClient.callTimeout(
                Timeout.builder().request(Duration.ofSeconds(5)).build()))
        .isEqualTo(Duration.ofSeconds(5));
    assertThat(
            LlmPoolOpenAiHttpClient.callTimeout(Timeout.builder().request(Duration.ZERO).build()))
        .isNull();
  }

  @Test
  void aClosedClientRefusesCallsAndLeavesThePoolOpen() {
    try (MockLlmServer server = Proto.HTTP_1_1.server().start();
        LlmPool pool = Proto.HTTP_1_1.pool(server).build()) {
      LlmPoolOpenAiHttpClient client = LlmPoolOpenAiHttpClient.of(pool);
      client.close();
      client.close(); // idempotent
      assertThatThrownBy(
              () -> client.execute(chat(server, new OneShotBody()), RequestOptions.none()))
          .isInstanceOf(IllegalStateException.class);
      assertThat(client.executeAsync(chat(server, new OneShotBody()), RequestOptions.none()))
          .isCompletedExceptionally();
      assertThat(pool.isClosed()).isFalse();
    }
  }
}
