package example;

import dev.langchain4j.model.chat.ChatModel;
import dev.langchain4j.model.chat.StreamingChatModel;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.chat.response.StreamingChatResponseHandler;
import dev.langchain4j.model.openai.OpenAiChatModel;
import dev.langchain4j.model.openai.OpenAiStreamingChatModel;
import dev.llmpool.LlmPool;
import dev.llmpool.langchain4j.LlmPoolLangChain4j;
import java.io.PrintStream;
import java.util.concurrent.CompletableFuture;

/**
 * LangChain4j models on llmpool. With llmpool-langchain4j on the class path, LangChain4j finds
 * llmpool as its HTTP client by itself; the pool below is optional (without it, models share a
 * pool llmpool makes), it is here to show the settings and the stats.
 */
public final class LangChain4jExample {
  private LangChain4jExample() {}

  public static void main(String[] args) {
    String baseUrl = System.getenv().getOrDefault("OPENAI_BASE_URL", "https://api.openai.com/v1");
    String apiKey = System.getenv("OPENAI_API_KEY");
    if (apiKey == null) {
      System.err.println("Set OPENAI_API_KEY (and OPENAI_BASE_URL for another server).");
      System.exit(2);
    }
    run(baseUrl, apiKey, args.length > 0 ? args[0] : "gpt-4o-mini", System.out);
  }

  static void run(String baseUrl, String apiKey, String modelName, PrintStream out) {
    try (LlmPool pool = LlmPool.builder().build()) {
      LlmPoolLangChain4j.useDefaultPool(pool); // before building models; the pool stays yours
      try {
        ChatModel model =
            OpenAiChatModel.builder().baseUrl(baseUrl).apiKey(apiKey).modelName(modelName).build();
        out.println(model.chat("Say hello in five words."));

        StreamingChatModel streaming =
            OpenAiStreamingChatModel.builder()
                .baseUrl(baseUrl)
                .apiKey(apiKey)
                .modelName(modelName)
                .build();
        CompletableFuture<ChatResponse> done = new CompletableFuture<>();
        streaming.chat(
            "Count from one to five.",
            new StreamingChatResponseHandler() {
              @Override
              public void onPartialResponse(String piece) {
                out.print(piece);
              }

              @Override
              public void onCompleteResponse(ChatResponse response) {
                done.complete(response);
              }

              @Override
              public void onError(Throwable error) {
                done.completeExceptionally(error);
              }
            });
        done.join();
        out.println();
        out.println(pool.stats());
      } finally {
        LlmPoolLangChain4j.clearDefaultPool();
      }
    }
  }
}
