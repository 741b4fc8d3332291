package dev.llmpool.llm;

import static dev.llmpool.llm.Wire.KEY;
import static dev.llmpool.llm.Wire.assertNoActiveConnection;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.llmpool.LlmPool;
import dev.llmpool.llm.Wire.Api;
import dev.llmpool.testkit.Fault;
import dev.llmpool.testkit.MockLlmServer;
import dev.llmpool.testkit.RecordedRequest;
import dev.llmpool.testkit.Reply;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.slf4j.LoggerFactory;

/**
 * The API key appears nowhere a user or an operator reads: no exception message, {@code
 * toString()}, stack trace, observation or log line, even when a server echoes it back.
 */
class ChatSecretsTest {
  private static final List<Message> ASK = List.of(Message.user("hi"));

  /** Copies everything written to {@code System.err} (where the tests' slf4j-simple logs). */
  private static final class CapturedLog implements AutoCloseable {
    private final PrintStream original = System.err;
    private final ByteArrayOutputStream copy = new ByteArrayOutputStream();

    CapturedLog() {
      OutputStream tee =
          new OutputStream() {
            @Override
            public void write(int b) {
              synchronized (copy) {
                copy.write(b);
              }
              original.write(b);
            }

            @Override
            public void write(byte[] b, int off, int len) {
              synchronized (copy) {
                copy.write(b, off, len);
              }
              original.write(b, off, len);
            }
          };
      System.setErr(new PrintStream(tee, true, StandardCharsets.UTF_8));
    }

    String text() {
      synchronized (copy) {
        return copy.toString(StandardCharsets.UTF_8);
      }
    }

    @Override
    public void close() {
      System.err.flush();
      System.setErr(original);
    }
  }

  private static String stackTrace(Throwable t) {
    StringWriter w = new StringWriter();
    t.printStackTrace(new PrintWriter(w));
    return w.toString();
  }

  @ParameterizedTest
  @EnumSource(Api.class)
  void theKeyIsInNoMessageToStringStackTraceObservationOrLogLine(Api api) {
    assertThat(LoggerFactory.getLogger("dev.llmpool.llm.internal.ChatCall").isDebugEnabled())
        .as("llmpool logs at debug in the tests (src/test/resources/simplelogger.properties)")
        .isTrue();
    List<ChatObservation> seen = new CopyOnWriteArrayList<>();
    List<String> printed = new ArrayList<>();
    try (CapturedLog log = new CapturedLog();
        MockLlmServer server = Wire.H2C.server().start();
        LlmPool pool = Wire.H2C.pool(server, api).chatObserver(seen::add).build()) {
      ChatClient chat = api.client(pool, "m");
      printed.add(pool.toString());
      printed.add(pool.toBuilder().toString());
      printed.add(chat.toString());

      // A server that echoes the key in its error message, in a status and in a stream event.
      String echo = "Incorrect API key provided: " + KEY + ". Find your key at example.com";
      server.enqueue(Reply.error(400).toBuilder().errorMessage(echo).build());
      Throwable bad = catchThrowable(() -> chat.complete(ASK));
      assertThat(bad).isInstanceOf(BadRequestException.class);
      ApiStatusException e = (ApiStatusException) bad;
      assertThat(e.providerMessage()).contains("Incorrect API key provided");
      printed.add(e.getMessage());
      printed.add(e.toString());
      printed.add(stackTrace(e));
      printed.add(e.error().toString());
      printed.add(e.error().body());
      printed.add(String.valueOf(e.providerMessage()));

      server.enqueue(
          Reply.error(529).toBuilder()
              .errorMessage(echo)
              .fault(Fault.ERROR_EVENT_MID_STREAM)
              .build());
      Throwable inStream = catchThrowable(() -> chat.stream(ASK, s -> {}));
      assertThat(inStream).isInstanceOf(ApiStatusException.class);
      printed.add(stackTrace(inStream));
      printed.add(((ApiStatusException) inStream).error().body());

      // Retries and failures log at debug: a 503 retried, then a success.
      server.enqueue(
          Reply.error(503).toBuilder().retryAfter(Duration.ofMillis(5)).errorMessage(echo).build());
      ChatResponse ok = chat.complete(ASK);
      assertThat(ok.attempts()).isEqualTo(2);
      printed.add(ok.toString());

      // A 401 from a key the server does not take.
      server.enqueue(Reply.error(401).toBuilder().errorMessage(echo).build());
      Throwable auth = catchThrowable(() -> chat.complete(ASK));
      assertThat(auth).isInstanceOf(AuthenticationException.class);
      printed.add(stackTrace(auth));

      for (ChatObservation o : seen) {
        printed.add(o.toString());
      }
      for (RecordedRequest r : server.requests()) {
        printed.add(r.toString());
      }
      assertNoActiveConnection(pool);
      System.err.flush();
      String logged = log.text();
      assertThat(logged).as("the log was captured").contains("retrying chat call");
      assertThat(logged).as("the key in a log line").doesNotContain(KEY);
      for (String p : printed) {
        assertThat(p).doesNotContain(KEY);
      }
      // The server did get the key: it was sent, only never shown.
      assertThat(server.requests().get(0).header(api == Api.OPENAI ? "authorization" : "x-api-key"))
          .contains(KEY);
    }
  }

  @Test
  void anAzureStyleBaseUrlKeepsItsQueryAndSendsTheKeyAsApiKey() {
    try (MockLlmServer server = MockLlmServer.builder().start();
        LlmPool pool =
            LlmPool.builder()
                .baseUrl(server.baseUrl() + "/v1?api-version=2024-10-21")
                .apiKey("api-key", KEY)
                .build()) {
      ChatClient chat = pool.openAiChat("gpt-4o");
      // The mock speaks OpenAI's Bearer auth only: it refuses the api-key header, as OpenAI would.
      Throwable t = catchThrowable(() -> chat.complete(ASK));
      assertThat(t).isInstanceOf(AuthenticationException.class);
      assertThat(t.getMessage()).doesNotContain(KEY).doesNotContain("api-version");
      RecordedRequest r = server.takeRequest();
      assertThat(r.path()).isEqualTo("/v1/chat/completions?api-version=2024-10-21");
      assertThat(r.header("api-key")).isEqualTo(KEY);
      assertThat(r.header("authorization")).isNull();
      assertNoActiveConnection(pool);
    }
  }

  @Test
  void anAzureStyleQueryIsKeptWithBearerAuthToo() {
    try (MockLlmServer server = MockLlmServer.builder().start();
        LlmPool pool =
            LlmPool.builder()
                .baseUrl(server.baseUrl() + "/v1?api-version=2024-10-21")
                .bearerToken(KEY)
                .openAiAuth(OpenAiAuth.BEARER)
                .build()) {
      ChatResponse r = pool.openAiChat("gpt-4o").complete(ASK);
      assertThat(r.text()).isEqualTo("Mock reply to: hi");
      assertThat(server.takeRequest().path())
          .isEqualTo("/v1/chat/completions?api-version=2024-10-21");
      assertNoActiveConnection(pool);
    }
  }
}
