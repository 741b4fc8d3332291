package dev.llmpool.cli;

import dev.llmpool.LlmPool;
import dev.llmpool.LlmPoolException;
import dev.llmpool.Timeouts;
import dev.llmpool.llm.ChatClient;
import dev.llmpool.llm.ChatOptions;
import dev.llmpool.llm.ChatResponse;
import dev.llmpool.llm.Message;
import dev.llmpool.llm.Usage;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code llmpool chat}: one question to an OpenAI-compatible or Anthropic API, the answer on stdout
 * (as it arrives with {@code --stream}). The key comes from the environment, never from the command
 * line (where {@code ps} and the shell history would show it). A failure prints the typed error's
 * one-line message on stderr and exits 1; a usage error exits 2.
 */
@Command(
    name = "chat",
    mixinStandardHelpOptions = true,
    description = {
      "Ask an LLM API one question and print the answer (as it arrives with --stream).",
      "The key is read from OPENAI_API_KEY (--api openai) or ANTHROPIC_API_KEY",
      "(--api anthropic), or from the variable named by --api-key-env.",
      "Example: llmpool chat --base-url https://api.openai.com/v1 --api openai",
      "         --model gpt-4o-mini --stream \"Why is the sky blue?\""
    })
final class ChatCommand implements Callable<Integer> {

  @SuppressWarnings("NullAway.Init") // injected by picocli before call()
  @Spec
  CommandSpec spec;

  @Option(
      names = "--base-url",
      required = true,
      paramLabel = "URL",
      description =
          "The API's base URL: https://api.openai.com/v1, http://localhost:11434/v1 (Ollama),"
              + " https://api.anthropic.com...")
  String baseUrl = "";

  @Option(
      names = "--api",
      required = true,
      paramLabel = "openai|anthropic",
      description =
          "Which API the server speaks: openai (chat completions) or anthropic (messages).")
  String api = "";

  @Option(names = "--model", required = true, paramLabel = "M", description = "The model.")
  String model = "";

  @Option(names = "--stream", description = "Print the answer as it arrives.")
  boolean stream;

  @Option(names = "--system", paramLabel = "TEXT", description = "A system prompt.")
  @Nullable String system;

  @Option(
      names = "--max-tokens",
      paramLabel = "N",
      description = "The most tokens to generate (Anthropic default: 4096).")
  @Nullable Integer maxTokens;

  @Option(
      names = "--api-key-env",
      paramLabel = "NAME",
      description =
          "Read the key from this environment variable instead of OPENAI_API_KEY /"
              + " ANTHROPIC_API_KEY.")
  @Nullable String apiKeyEnv;

  @Option(
      names = "--cacert",
      paramLabel = "FILE",
      description =
          "Trust the certificates in this PEM file (a self-signed server, e.g. llmpool mock --tls).")
  @Nullable Path cacert;

  @Option(
      names = "--timeout",
      paramLabel = "DURATION",
      converter = DurationConverter.class,
      description = "The whole call, retries included, like 30s (default: 10m).")
  @Nullable Duration timeout;

  @Option(
      names = {"-v", "--verbose"},
      description = "Also print the model, tokens, timings and request id on stderr.")
  boolean verbose;

  @Parameters(arity = "1", paramLabel = "PROMPT", description = "The question.")
  String prompt = "";

  /** Reads environment variables; tests replace it. */
  Function<String, @Nullable String> env = System::getenv;

  @Override
  public Integer call() {
    boolean anthropic = apiIsAnthropic();
    String key = key(anthropic);
    if (maxTokens != null && maxTokens < 1) {
      throw usage("--max-tokens must be at least 1, got " + maxTokens);
    }
    if (prompt.isBlank()) {
      throw usage("the prompt is empty");
    }
    if (cacert != null && !Files.isReadable(cacert)) {
      throw usage("cannot read the certificate file " + cacert);
    }
    LlmPool.Builder b = LlmPool.builder();
    try {
      b.baseUrl(baseUrl);
      if (key != null) {
        if (anthropic) {
          b.apiKey("x-api-key", key);
        } else {
          b.bearerToken(key);
        }
      }
      if (cacert != null) {
        b.trustedCertificates(cacert);
      }
      if (timeout != null) {
        b.timeouts(Timeouts.builder().total(timeout).build());
      }
    } catch (IllegalArgumentException e) {
      throw usage(String.valueOf(e.getMessage()));
    }
    ChatOptions.Builder options = ChatOptions.builder().model(model);
    if (system != null) {
      options.systemPrompt(system);
    }
    if (maxTokens != null) {
      options.maxTokens(maxTokens);
    }
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    try (LlmPool pool = b.build()) {
      ChatOptions defaults = options.build();
      ChatClient chat = anthropic ? pool.anthropicMessages(defaults) : pool.openAiChat(defaults);
      List<Message> messages = List.of(Message.user(prompt));
      ChatResponse r;
      boolean[] printed = {false};
      try {
        if (stream) {
          r =
              chat.stream(
                  messages,
                  text -> {
                    out.print(text);
                    out.flush();
                    printed[0] = true;
                  });
        } else {
          r = chat.complete(messages);
        }
      } catch (LlmPoolException e) {
        if (printed[0]) {
          out.println(); // end the partial answer's line before the error
          out.flush();
        }
        err.println("llmpool: " + oneLine(e.getMessage()));
        err.flush();
        return 1;
      }
      if (stream) {
        out.println();
      } else {
        out.println(r.text());
      }
      out.flush();
      if (verbose) {
        err.println(summary(r));
        err.flush();
      }
      return 0;
    }
  }

  private boolean apiIsAnthropic() {
    return switch (api.toLowerCase(Locale.ROOT)) {
      case "openai" -> false;
      case "anthropic" -> true;
      default -> throw usage("--api must be openai or anthropic, got '" + api + "'");
    };
  }

  /** The key from the environment; null when the default variable is unset (a local server). */
  private @Nullable String key(boolean anthropic) {
    String name =
        apiKeyEnv != null ? apiKeyEnv : anthropic ? "ANTHROPIC_API_KEY" : "OPENAI_API_KEY";
    String value = env.apply(name);
    if (value == null || value.isBlank()) {
      if (apiKeyEnv != null) {
        throw usage("the environment variable " + name + " (--api-key-env) is not set");
      }
      return null;
    }
    return value.trim();
  }

  private static String summary(ChatResponse r) {
    Usage u = r.usage();
    StringBuilder s = new StringBuilder("llmpool: ");
    s.append(r.model() == null ? "?" : r.model());
    if (u != null) {
      s.append(", ").append(u.inputTokens()).append(" tokens in, ");
      s.append(u.outputTokens()).append(" out");
    }
    s.append(", ").append(r.latency().toMillis()).append(" ms");
    if (r.timeToFirstToken() != null) {
      s.append(" (first token ").append(r.timeToFirstToken().toMillis()).append(" ms)");
    }
    s.append(", ").append(r.attempts()).append(r.attempts() == 1 ? " attempt" : " attempts");
    if (r.finishReason() != null) {
      s.append(", finish ").append(r.finishReason());
    }
    if (r.requestId() != null) {
      s.append(", request id ").append(r.requestId());
    }
    return s.toString();
  }

  private static String oneLine(@Nullable String message) {
    return message == null ? "failed" : message.replaceAll("\\s*[\\r\\n]+\\s*", " ").strip();
  }

  private ParameterException usage(String message) {
    return new ParameterException(spec.commandLine(), message);
  }
}
