package example;

import com.openai.client.OpenAIClient;
import com.openai.client.OpenAIClientImpl;
import com.openai.core.ClientOptions;
import com.openai.core.http.StreamResponse;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import dev.llmpool.LlmPool;
import dev.llmpool.openai.LlmPoolOpenAiHttpClient;
import java.io.PrintStream;

/** The official OpenAI Java SDK, with llmpool as its HTTP client: one answer, then one stream. */
public final class OpenAiExample {
  private OpenAiExample() {}

  public static void main(String[] args) {
    String baseUrl = System.getenv().getOrDefault("OPENAI_BASE_URL", "https://api.openai.com/v1");
    String apiKey = System.getenv("OPENAI_API_KEY");
    if (apiKey == null) {
      System.err.println("Set OPENAI_API_KEY (and OPENAI_BASE_URL for another server).");
      System.exit(2);
    }
    run(baseUrl, apiKey, args.length > 0 ? args[0] : "gpt-4o-mini", System.out);
  }

  static void run(String baseUrl, String apiKey, String model, PrintStream out) {
    // One pool per application: every call after the first rides a warm connection.
    try (LlmPool pool = LlmPool.builder().build()) {
      OpenAIClient client =
          new OpenAIClientImpl(
              ClientOptions.builder()
                  .httpClient(LlmPoolOpenAiHttpClient.of(pool)) // instead of OpenAIOkHttpClient
                  .baseUrl(baseUrl)
                  .apiKey(apiKey)
                  .build());
      try {
        ChatCompletion answer =
            client
                .chat()
                .completions()
                .create(
                    ChatCompletionCreateParams.builder()
                        .model(model)
                        .addUserMessage("Say hello in five words.")
                        .build());
        out.println(answer.choices().get(0).message().content().orElse(""));

        try (StreamResponse<ChatCompletionChunk> stream =
            client
                .chat()
                .completions()
                .createStreaming(
                    ChatCompletionCreateParams.builder()
                        .model(model)
                        .addUserMessage("Count from one to five.")
                        .build())) {
          stream.stream()
              .flatMap(chunk -> chunk.choices().stream())
              .forEach(choice -> choice.delta().content().ifPresent(out::print));
        }
        out.println();
        out.println(pool.stats());
      } finally {
        client.close(); // the pool is borrowed: it stays open until the try above closes it
      }
    }
  }
}
