package dev.llmpool.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llmpool.testkit.Fault;
import dev.llmpool.testkit.MockLlmServer;
import dev.llmpool.testkit.RecordedRequest;
import dev.llmpool.testkit.Reply;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.Map;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** {@code llmpool chat}, in-process, against the mock server. */
class ChatCommandTest {
  private static final String KEY = "sk-cli-test-8hQ2mZr5Xw";

  private record Result(int code, String out, String err) {}

  private static Result run(Map<String, String> env, String... args) {
    CommandLine cl = Main.newCommandLine();
    ChatCommand chat = (ChatCommand) cl.getSubcommands().get("chat").getCommand();
    chat.env = env::get;
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    cl.setOut(new PrintWriter(out, true));
    cl.setErr(new PrintWriter(err, true));
    String[] all = new String[args.length + 1];
    all[0] = "chat";
    System.arraycopy(args, 0, all, 1, args.length);
    int code = cl.execute(all);
    return new Result(code, out.toString(), err.toString());
  }

  @Test
  void printsTheAnswerOfAnOpenAiCompatibleServer() {
    try (MockLlmServer server = MockLlmServer.builder().apiKey(KEY).start()) {
      Result r =
          run(
              Map.of("OPENAI_API_KEY", KEY),
              "--base-url",
              server.baseUrl() + "/v1",
              "--api",
              "openai",
              "--model",
              "gpt-test",
              "Why is the sky blue?");
      assertThat(r.code()).as(r.err()).isZero();
      assertThat(r.out()).isEqualTo("Mock reply to: Why is the sky blue?" + System.lineSeparator());
      assertThat(r.err()).isEmpty();
      RecordedRequest seen = server.takeRequest();
      assertThat(seen.path()).isEqualTo("/v1/chat/completions");
      assertThat(seen.header("authorization")).isEqualTo("Bearer " + KEY);
      assertThat(seen.model()).isEqualTo("gpt-test");
    }
  }

  @Test
  void streamsAnAnthropicAnswerOverTlsTrustingTheGivenCertificate() {
    try (MockLlmServer server =
        MockLlmServer.builder()
            .tls(true)
            .apiKey(KEY)
            .defaultReply(Reply.text("Rayleigh scattering, mostly."))
            .start()) {
      Result r =
          run(
              Map.of("ANTHROPIC_API_KEY", KEY),
              "--base-url",
              server.baseUrl().toString(),
              "--api",
              "anthropic",
              "--model",
              "claude-test",
              "--stream",
              "--system",
              "Be brief.",
              "--max-tokens",
              "64",
              "--cacert",
              server.certificate().pemFile().toString(),
              "-v",
              "Why is the sky blue?");
      assertThat(r.code()).as(r.err()).isZero();
      assertThat(r.out()).isEqualTo("Rayleigh scattering, mostly." + System.lineSeparator());
      assertThat(r.err())
          .startsWith("llmpool: claude-test, ")
          .contains("tokens in, 3 out")
          .contains("first token")
          .contains("1 attempt")
          .contains("finish end_turn")
          .contains("request id req_");
      RecordedRequest seen = server.takeRequest();
      assertThat(seen.path()).isEqualTo("/v1/messages");
      assertThat(seen.header("x-api-key")).isEqualTo(KEY);
      assertThat(seen.header("anthropic-version")).isEqualTo("2023-06-01");
      assertThat(seen.bodyUtf8())
          .contains("\"system\":\"Be brief.\"")
          .contains("\"max_tokens\":64")
          .contains("\"stream\":true");
      assertThat(seen.tls()).isTrue();
    }
  }

  @Test
  void readsTheKeyFromTheNamedVariable() {
    try (MockLlmServer server = MockLlmServer.builder().apiKey(KEY).start()) {
      Result r =
          run(
              Map.of("MY_GATEWAY_KEY", KEY, "OPENAI_API_KEY", "not-this-one"),
              "--base-url",
              server.baseUrl() + "/v1",
              "--api",
              "openai",
              "--model",
              "m",
              "--api-key-env",
              "MY_GATEWAY_KEY",
              "hi");
      assertThat(r.code()).as(r.err()).isZero();
      assertThat(server.takeRequest().header("authorization")).isEqualTo("Bearer " + KEY);
    }
  }

  @Test
  void anApiErrorExitsOneWithTheTypedErrorsOneLineMessage() {
    try (MockLlmServer server = MockLlmServer.builder().apiKey("another-key").start()) {
      Result r =
          run(
              Map.of("OPENAI_API_KEY", KEY),
              "--base-url",
              server.baseUrl() + "/v1",
              "--api",
              "openai",
              "--model",
              "m",
              "hi");
      assertThat(r.code()).isEqualTo(1);
      assertThat(r.out()).isEmpty();
      assertThat(r.err())
          .startsWith("llmpool: ")
          .contains("401")
          .contains("Incorrect API key provided.")
          .contains("phase=http_status")
          .contains("origin=http://127.0.0.1:" + server.port())
          .doesNotContain(KEY)
          .doesNotContain("\tat ")
          .doesNotContain("Exception");
      assertThat(r.err().strip().lines()).hasSize(1);
    }
  }

  @Test
  void anErrorEventMidStreamEndsThePartialAnswerAndExitsOne() {
    try (MockLlmServer server =
        MockLlmServer.builder()
            .defaultReply(Reply.text("one two three four five six seven eight"))
            .start()) {
      server.enqueue(
          Reply.text("one two three four five six seven eight").toBuilder()
              .fault(Fault.ERROR_EVENT_MID_STREAM)
              .build());
      Result r =
          run(
              Map.of("ANTHROPIC_API_KEY", KEY),
              "--base-url",
              server.baseUrl().toString(),
              "--api",
              "anthropic",
              "--model",
              "c",
              "--stream",
              "count");
      assertThat(r.code()).isEqualTo(1);
      assertThat(r.out()).startsWith("one two").endsWith(System.lineSeparator());
      assertThat(r.err()).startsWith("llmpool: ").contains("529").contains("Overloaded");
      assertThat(server.requestCount()).as("not retried after text").isEqualTo(1);
    }
  }

  @Test
  void badArgumentsAreUsageErrors() {
    String[][] cases = {
      {"--base-url", "http://127.0.0.1:1/v1", "--api", "openai", "hi"},
      {"--base-url", "http://127.0.0.1:1/v1", "--api", "gemini", "--model", "m", "hi"},
      {"--base-url", "not a url", "--api", "openai", "--model", "m", "hi"},
      {
        "--base-url",
        "http://127.0.0.1:1/v1",
        "--api",
        "openai",
        "--model",
        "m",
        "--max-tokens",
        "0",
        "hi"
      },
      {
        "--base-url",
        "http://127.0.0.1:1/v1",
        "--api",
        "openai",
        "--model",
        "m",
        "--api-key-env",
        "NOPE",
        "hi"
      },
      {
        "--base-url",
        "https://127.0.0.1:1",
        "--api",
        "anthropic",
        "--model",
        "m",
        "--cacert",
        "/no/such/file.pem",
        "hi"
      },
      {
        "--base-url",
        "http://127.0.0.1:1/v1",
        "--api",
        "openai",
        "--model",
        "m",
        "--timeout",
        "soon",
        "hi"
      },
      {"--base-url", "http://127.0.0.1:1/v1", "--api", "openai", "--model", "m"},
    };
    String[] expected = {
      "Missing required option: '--model=M'",
      "--api must be openai or anthropic, got 'gemini'",
      "baseUrl",
      "--max-tokens must be at least 1",
      "NOPE (--api-key-env) is not set",
      "cannot read the certificate file",
      "not a duration",
      "Missing required parameter: 'PROMPT'",
    };
    for (int i = 0; i < cases.length; i++) {
      Result r = run(Map.of(), cases[i]);
      assertThat(r.code()).as(String.join(" ", cases[i])).isEqualTo(2);
      assertThat(r.err()).as(String.join(" ", cases[i])).contains(expected[i]);
    }
  }

  @Test
  void anUnreachableServerExitsOneNamingThePhaseAndHost() throws Exception {
    int port;
    try (java.net.ServerSocket s =
        new java.net.ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.1"))) {
      port = s.getLocalPort();
    }
    Result r =
        run(
            Map.of(),
            "--base-url",
            "http://127.0.0.1:" + port + "/v1",
            "--api",
            "openai",
            "--model",
            "m",
            "--timeout",
            "20s",
            "hi");
    assertThat(r.code()).isEqualTo(1);
    assertThat(r.err()).startsWith("llmpool: ").contains("phase=connect").contains("127.0.0.1");
    assertThat(r.err().strip().lines()).hasSize(1);
  }
}
