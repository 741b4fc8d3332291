package example;

import com.anthropic.backends.AnthropicBackend;
import com.anthropic.client.AnthropicClient;
import com.anthropic.client.AnthropicClientImpl;
import com.anthropic.core.ClientOptions;
import com.anthropic.core.http.StreamResponse;
import com.anthropic.models.messages.Message;
import com.anthropic.models.messages.MessageCreateParams;
import com.anthropic.models.messages.RawMessageStreamEvent;
import dev.llmpool.LlmPool;
import dev.llmpool.anthropic.LlmPoolAnthropicHttpClient;
import java.io.PrintStream;

/** The official Anthropic Java SDK, with llmpool as its HTTP client: one answer, then one stream. */
public final class AnthropicExample {
  private AnthropicExample() {}

  public static void main(String[] args) {
    String baseUrl = System.getenv().getOrDefault("ANTHROPIC_BASE_URL", "https://api.anthropic.com");
    String apiKey = System.getenv("ANTHROPIC_API_KEY");
    if (apiKey == null) {
      System.err.println("Set ANTHROPIC_API_KEY (and ANTHROPIC_BASE_URL for another server).");
      System.exit(2);
    }
    run(baseUrl, apiKey, args.length > 0 ? args[0] : "claude-sonnet-4-5", System.out);
  }

  static void run(String baseUrl, String apiKey, String model, PrintStream out) {
    // One pool per application: every call after the first rides a warm connection.
    try (LlmPool pool = LlmPool.builder().build()) {
      // The backend carries the credentials (AnthropicBackend.fromEnv() reads them from the
      // environment); llmpool's HTTP client applies it as the SDK's own transport does.
      AnthropicBackend backend =
          AnthropicBackend.builder().apiKey(apiKey).baseUrl(baseUrl).build();
      AnthropicClient client =
          new AnthropicClientImpl(
              ClientOptions.builder()
                  .httpClient(LlmPoolAnthropicHttpClient.of(pool, backend))
                  .baseUrl(backend.baseUrl())
                  .build());
      try {
        Message answer =
            client
                .messages()
                .create(
                    MessageCreateParams.builder()
                        .model(model)
                        .maxTokens(256)
                        .addUserMessage("Say hello in five words.")
                        .build());
        answer.content().forEach(block -> block.text().ifPresent(t -> out.println(t.text())));

        try (StreamResponse<RawMessageStreamEvent> stream =
            client
                .messages()
                .createStreaming(
                    MessageCreateParams.builder()
                        .model(model)
                        .maxTokens(256)
                        .addUserMessage("Count from one to five.")
                        .build())) {
          stream.stream()
              .forEach(
                  event ->
                      event
                          .contentBlockDelta()
                          .flatMap(delta -> delta.delta().text())
                          .ifPresent(text -> out.print(text.text())));
        }
        out.println();
        out.println(pool.stats());
      } finally {
        client.close(); // closes the backend; the pool is borrowed and stays open
      }
    }
  }
}
