package dev.llmpool.anthropic;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.anthropic.backends.Backend;
import com.anthropic.core.RequestOptions;
import com.anthropic.core.http.HttpMethod;
import com.anthropic.core.http.HttpRequest;
import com.anthropic.core.http.HttpRequestBody;
import com.anthropic.core.http.HttpResponse;
import com.anthropic.errors.AnthropicIoException;
import dev.llmpool.LlmPool;
import dev.llmpool.LlmPoolException;
import dev.llmpool.testkit.Fault;
import dev.llmpool.testkit.MockLlmServer;
import dev.llmpool.testkit.RecordedRequest;
import dev.llmpool.testkit.Reply;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The HTTP client contract below the SDK: bodies, the backend, closing. */
class LlmPoolAnthropicHttpClientTest {
  private static final String MESSAGE =
      "{\"model\":\"claude\",\"max_tokens\":100,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";

  /** A body the SDK says cannot be sent twice (as a streamed upload would be). */
  private static final class OneShotBody implements HttpRequestBody {
    final AtomicInteger writes = new AtomicInteger();

    @Override
    public void writeTo(OutputStream out) {
      writes.incrementAndGet();
      try {
        out.write(MESSAGE.getBytes(StandardCharsets.UTF_8));
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
    public void close() {}
  }

  /** A backend like Bedrock's or Vertex's: rewrites, signs and adapts. */
  private static final class RecordingBackend implements Backend {
    private final String baseUrl;
    final AtomicInteger responses = new AtomicInteger();
    final AtomicBoolean closed = new AtomicBoolean();

    RecordingBackend(String baseUrl) {
      this.baseUrl = baseUrl;
    }

    @Override
    public String baseUrl() {
      return baseUrl;
    }

    @Override
    public HttpRequest prepareRequest(HttpRequest request) {
      return request.toBuilder().putHeader("x-prepared", "yes").build();
    }

    @Override
    public HttpRequest authorizeRequest(HttpRequest request) {
      // Signing sees the whole URL: the transport resolved it into the base URL.
      return request.toBuilder()
          .putHeader("x-api-key", "sk-ant-test")
          .putHeader("x-signed-url", String.valueOf(request.baseUrl()))
          .build();
    }

    @Override
    public HttpResponse prepareResponse(HttpResponse response) {
      responses.incrementAndGet();
      return response;
    }

    @Override
    public void close() {
      closed.set(true);
    }
  }

  private static HttpRequest message(MockLlmServer server, HttpRequestBody body) {
    return HttpRequest.builder()
        .method(HttpMethod.POST)
        .baseUrl(server.baseUrl().toString())
        .addPathSegments("v1", "messages")
        .putHeader("anthropic-version", "2023-06-01")
        .body(body)
        .build();
  }

  @Test
  void theBackendPreparesAuthorizesAndAdaptsEveryExchange() {
    try (MockLlmServer server = Proto.H2C.server().apiKey("sk-ant-test").start();
        LlmPool pool = Proto.H2C.pool(server).build()) {
      RecordingBackend backend = new RecordingBackend(server.baseUrl().toString());
      LlmPoolAnthropicHttpClient client = LlmPoolAnthropicHttpClient.of(pool, backend);
      try (HttpResponse r =
          client.execute(message(server, new OneShotBody()), RequestOptions.none())) {
        assertThat(r.statusCode()).isEqualTo(200);
      }
      RecordedRequest seen = server.requests().get(0);
      assertThat(seen.header("x-prepared")).isEqualTo("yes");
      assertThat(seen.header("x-signed-url")).isEqualTo(server.baseUrl() + "/v1/messages");
      assertThat(seen.path()).isEqualTo("/v1/messages");
      assertThat(backend.responses).hasValue(1);
      client.close();
      assertThat(backend.closed).isTrue();
      assertThat(pool.isClosed()).isFalse();
      assertThatThrownBy(
              () -> client.execute(message(server, new OneShotBody()), RequestOptions.none()))
          .isInstanceOf(IllegalStateException.class);
    }
  }

  @Test
  void aNonRepeatableBodyIsNeverResentByLlmPool() {
    try (MockLlmServer server = Proto.H2C.server().start();
        LlmPool pool = Proto.H2C.pool(server).build();
        LlmPoolAnthropicHttpClient client =
            LlmPoolAnthropicHttpClient.of(
                pool, new RecordingBackend(server.baseUrl().toString()))) {
      server.enqueue(Reply.fault(Fault.REFUSE_STREAM));
      OneShotBody body = new OneShotBody();
      assertThatThrownBy(() -> client.execute(message(server, body), RequestOptions.none()))
          .isInstanceOf(AnthropicIoException.class)
          .satisfies(
              e ->
                  assertThat(((LlmPoolException) e.getCause()).requestMayHaveBeenProcessed())
                      .isFalse());
      assertThat(server.requests()).hasSize(1);
      assertThat(body.writes).hasValue(1);
    }
  }
}
