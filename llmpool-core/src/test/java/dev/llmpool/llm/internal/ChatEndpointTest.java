package dev.llmpool.llm.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.llmpool.llm.OpenAiAuth;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ChatEndpointTest {

  @Test
  void openAiCompatibleUrls() {
    assertThat(url(ChatEndpoint.openAi("https://api.openai.com/v1", "k", OpenAiAuth.AUTO, true)))
        .isEqualTo("https://api.openai.com/v1/chat/completions");
    assertThat(url(ChatEndpoint.openAi("http://localhost:11434/v1/", null, OpenAiAuth.AUTO, true)))
        .isEqualTo("http://localhost:11434/v1/chat/completions");
    assertThat(url(ChatEndpoint.openAi("http://0.0.0.0:4000", "k", OpenAiAuth.AUTO, true)))
        .isEqualTo("http://0.0.0.0:4000/chat/completions");
  }

  @Test
  void azureKeepsItsApiVersionQueryAndGetsTheKeyInApiKey() {
    ChatEndpoint e =
        ChatEndpoint.openAi(
            "https://res.openai.azure.com/openai/deployments/gpt-4o?api-version=2024-10-21",
            "azure-key-123",
            OpenAiAuth.AUTO,
            true);
    assertThat(url(e))
        .isEqualTo(
            "https://res.openai.azure.com/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21");
    assertThat(e.headers()).containsExactly(Map.entry("api-key", "azure-key-123"));
    assertThat(e.toString()).doesNotContain("api-version").doesNotContain("azure-key-123");
  }

  @Test
  void oldAzureApiVersionsAreNotSentStreamOptions() throws java.io.IOException {
    ChatEndpoint old =
        ChatEndpoint.openAi(
            "https://res.openai.azure.com/openai/deployments/d?api-version=2024-06-01",
            "k1234",
            OpenAiAuth.AUTO,
            true);
    ChatEndpoint current =
        ChatEndpoint.openAi(
            "https://res.openai.azure.com/openai/deployments/d?api-version=2024-10-21",
            "k1234",
            OpenAiAuth.AUTO,
            true);
    java.util.List<dev.llmpool.llm.Message> m =
        java.util.List.of(dev.llmpool.llm.Message.user("x"));
    dev.llmpool.llm.ChatOptions o = dev.llmpool.llm.ChatOptions.model("gpt-4o");
    byte[] a = old.codec().encode(m, o, true);
    byte[] b = current.codec().encode(m, o, true);
    assertThat(Json.parse(a, 0, a.length).has("stream_options")).isFalse();
    assertThat(Json.parse(b, 0, b.length).has("stream_options")).isTrue();
  }

  @Test
  void authStyleCanBeForced() {
    assertThat(
            ChatEndpoint.openAi(
                    "https://gw.example.com/v1", "k1234", OpenAiAuth.API_KEY_HEADER, true)
                .headers())
        .containsExactly(Map.entry("api-key", "k1234"));
    assertThat(
            ChatEndpoint.openAi("https://res.openai.azure.com/x", "k1234", OpenAiAuth.BEARER, true)
                .headers())
        .containsExactly(Map.entry("authorization", "Bearer k1234"));
    assertThat(
            ChatEndpoint.openAi("http://localhost:8000/v1", null, OpenAiAuth.AUTO, true).headers())
        .isEmpty();
  }

  @Test
  void anthropicUrlsWithOrWithoutV1() {
    assertThat(url(ChatEndpoint.anthropic("https://api.anthropic.com", "k")))
        .isEqualTo("https://api.anthropic.com/v1/messages");
    assertThat(url(ChatEndpoint.anthropic("https://api.anthropic.com/v1/", "k")))
        .isEqualTo("https://api.anthropic.com/v1/messages");
    assertThat(url(ChatEndpoint.anthropic("http://127.0.0.1:8080/proxy", "k")))
        .isEqualTo("http://127.0.0.1:8080/proxy/v1/messages");
    assertThat(ChatEndpoint.anthropic("https://api.anthropic.com", "k").headers())
        .containsExactly(Map.entry("x-api-key", "k"), Map.entry("anthropic-version", "2023-06-01"));
  }

  @Test
  void badBaseUrlsAreRefusedWithoutEchoingThem() {
    assertThatThrownBy(() -> ChatEndpoint.anthropic("ftp://user:pw@host/x", "k"))
        .isInstanceOf(IllegalArgumentException.class)
        .satisfies(e -> assertThat(e.getMessage()).doesNotContain("pw"));
    assertThatThrownBy(() -> ChatEndpoint.anthropic("not a url with spaces pw", "k"))
        .satisfies(e -> assertThat(e.getMessage()).doesNotContain("pw"));
    assertThatThrownBy(() -> ChatEndpoint.anthropic("/relative", "k"))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> ChatEndpoint.openAi("https://h/v1", "bad\nkey", OpenAiAuth.AUTO, true))
        .hasMessageContaining("control");
  }

  @Test
  void theRedactorKnowsTheKeyAndItsBearerForm() {
    ChatEndpoint e =
        ChatEndpoint.openAi("https://api.openai.com/v1", "sk-abcdef", OpenAiAuth.AUTO, true);
    assertThat(e.redactor().redact("x Bearer sk-abcdef y sk-abcdef"))
        .isEqualTo("x [redacted] y [redacted]");
  }

  @Test
  void aKeyWithAControlCharacterIsRefusedWithoutEchoingIt() {
    for (String bad : new String[] {"sk-secret\r\nx: 1", "sk-secret\u0001", "sk-secret\u007f"}) {
      assertThatThrownBy(() -> ChatEndpoint.anthropic("https://api.anthropic.com", bad))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("index 9")
          .satisfies(e -> assertThat(e.getMessage()).doesNotContain("sk-secret"));
      assertThatThrownBy(
              () -> ChatEndpoint.openAi("https://api.openai.com/v1", bad, OpenAiAuth.AUTO, true))
          .isInstanceOf(IllegalArgumentException.class)
          .satisfies(e -> assertThat(e.getMessage()).doesNotContain("sk-secret"));
    }
  }

  private static String url(ChatEndpoint e) {
    return e.uri().toString();
  }
}
