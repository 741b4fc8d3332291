package dev.llmpool.llm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ChatOptionsTest {

  @Test
  void unsetFieldsAreNull() {
    ChatOptions o = ChatOptions.EMPTY;
    assertThat(o.model()).isNull();
    assertThat(o.temperature()).isNull();
    assertThat(o.maxTokens()).isNull();
    assertThat(o.stopSequences()).isNull();
    assertThat(o.toolsJson()).isNull();
    assertThat(o.extraJson()).isNull();
    assertThat(o.headers()).isEmpty();
  }

  @Test
  void toBuilderRoundTrips() {
    ChatOptions o =
        ChatOptions.builder()
            .model("m")
            .temperature(0.7)
            .maxTokens(100)
            .systemPrompt("s")
            .stopSequences("a", "b")
            .toolsJson("[{\"name\":\"t\"}]")
            .responseFormatJson("{\"type\":\"json_object\"}")
            .extraJson("{\"seed\":1}")
            .header("Anthropic-Beta", "x")
            .build();
    assertThat(o.toBuilder().build()).isEqualTo(o).hasSameHashCodeAs(o);
    assertThat(o.headers()).containsExactly(Map.entry("anthropic-beta", "x"));
    assertThat(o.toBuilder().temperature(null).build().temperature()).isNull();
  }

  @Test
  void mergeLetsTheCallWinFieldByField() {
    ChatOptions defaults =
        ChatOptions.builder()
            .model("gpt-4o")
            .temperature(0.2)
            .extraJson("{\"seed\": 1, \"top_p\": 0.9}")
            .header("a", "1")
            .build();
    ChatOptions call =
        ChatOptions.builder()
            .maxTokens(5)
            .temperature(1.0)
            .extraJson("{\"seed\": 2}")
            .header("b", "2")
            .build();
    ChatOptions merged = defaults.merge(call);
    assertThat(merged.model()).isEqualTo("gpt-4o");
    assertThat(merged.temperature()).isEqualTo(1.0);
    assertThat(merged.maxTokens()).isEqualTo(5);
    assertThat(merged.extraJson()).isEqualTo("{\"seed\":2,\"top_p\":0.9}");
    assertThat(merged.headers()).containsOnlyKeys("a", "b");
    assertThat(defaults.merge(ChatOptions.EMPTY)).isSameAs(defaults);
    assertThat(ChatOptions.EMPTY.merge(call)).isSameAs(call);
    // Merging never changes the inputs.
    assertThat(defaults.extraJson()).isEqualTo("{\"seed\":1,\"top_p\":0.9}");
  }

  @Test
  void extraFieldsTakeJavaValues() {
    ChatOptions o =
        ChatOptions.builder()
            .extra("user", "alice")
            .extra("logit_bias", Map.of("50256", -100))
            .extra("n", 2)
            .extra("nothing", null)
            .build();
    assertThat(o.extraJson())
        .contains("\"user\":\"alice\"")
        .contains("\"logit_bias\":{\"50256\":-100}")
        .contains("\"n\":2")
        .contains("\"nothing\":null");
  }

  @Test
  void badValuesAreRefusedNamingTheField() {
    assertThatThrownBy(() -> ChatOptions.builder().temperature(-0.1).build())
        .hasMessageContaining("temperature");
    assertThatThrownBy(() -> ChatOptions.builder().temperature(Double.NaN).build())
        .hasMessageContaining("temperature");
    assertThatThrownBy(() -> ChatOptions.builder().maxTokens(0).build())
        .hasMessageContaining("maxTokens");
    assertThatThrownBy(() -> ChatOptions.builder().model(" ").build())
        .hasMessageContaining("model");
    assertThatThrownBy(() -> ChatOptions.builder().stopSequences(List.of("")).build())
        .hasMessageContaining("stopSequences");
    assertThatThrownBy(() -> ChatOptions.builder().toolsJson("{}").build())
        .hasMessageContaining("toolsJson");
    assertThatThrownBy(() -> ChatOptions.builder().toolsJson("[").build())
        .hasMessageContaining("toolsJson is not valid JSON");
    assertThatThrownBy(() -> ChatOptions.builder().responseFormatJson("[]").build())
        .hasMessageContaining("responseFormatJson");
    assertThatThrownBy(() -> ChatOptions.builder().extraJson("1"))
        .hasMessageContaining("extraJson");
    assertThatThrownBy(() -> ChatOptions.builder().extraJson("{} {}"))
        .hasMessageContaining("after its JSON value");
  }

  @Test
  void headersAreCheckedAndValuesNeverEchoed() {
    assertThatThrownBy(() -> ChatOptions.builder().header("bad name", "v").build())
        .hasMessageContaining("invalid character");
    assertThatThrownBy(() -> ChatOptions.builder().header("x-key", "secret\r\nInjected: 1").build())
        .hasMessageContaining("x-key")
        .satisfies(e -> assertThat(e.getMessage()).doesNotContain("secret"));
    assertThatThrownBy(() -> ChatOptions.builder().header("x-key", "secret\u0001").build())
        .hasMessageContaining("index 6")
        .satisfies(e -> assertThat(e.getMessage()).doesNotContain("secret"));
    assertThat(ChatOptions.builder().header("x-key", "a\tb").build().toString()).contains("x-key");
    assertThatThrownBy(() -> ChatOptions.builder().header("Content-Length", "1").build())
        .hasMessageContaining("set by llmpool");
    ChatOptions o = ChatOptions.builder().header("x-api-key", "sk-hidden").build();
    assertThat(o.toString()).contains("x-api-key").doesNotContain("sk-hidden");
  }
}
