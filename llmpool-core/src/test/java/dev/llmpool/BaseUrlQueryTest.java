package dev.llmpool;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llmpool.http.HttpRequest;
import dev.llmpool.testkit.MockLlmServer;
import org.junit.jupiter.api.Test;

/** A base URL's query (Azure's api-version) goes with every request under it. */
class BaseUrlQueryTest {

  private static HttpRequest chat(String target) {
    return HttpRequest.post(target)
        .header("authorization", "Bearer k")
        .json("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}")
        .build();
  }

  @Test
  void theBaseQueryIsAddedToRelativeTargetsAndAbsoluteOnesKeepTheirOwn() {
    try (MockLlmServer server = MockLlmServer.builder().start();
        LlmPool pool =
            LlmPool.builder().baseUrl(server.baseUrl() + "/v1?api-version=2024-10-21").build()) {
      assertThat(pool.send(chat("/chat/completions")).status()).isEqualTo(200);
      assertThat(pool.send(chat("chat/completions?trace=1")).status()).isEqualTo(200);
      assertThat(pool.send(chat(server.baseUrl() + "/v1/chat/completions")).status())
          .isEqualTo(200);
      assertThat(server.takeRequest().path())
          .isEqualTo("/v1/chat/completions?api-version=2024-10-21");
      assertThat(server.takeRequest().path())
          .isEqualTo("/v1/chat/completions?trace=1&api-version=2024-10-21");
      assertThat(server.takeRequest().path()).isEqualTo("/v1/chat/completions");
      assertThat(pool.toString()).doesNotContain("api-version");
      assertThat(pool.baseUrl()).hasToString(server.baseUrl() + "/v1?api-version=2024-10-21");
    }
  }
}
