package example;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmpool.testkit.MockLlmServer;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class AnthropicExampleTest {
  @Test
  void theExampleRunsAgainstTheMockServer() {
    try (MockLlmServer server = MockLlmServer.builder().apiKey("sk-ant-test").start()) {
      ByteArrayOutputStream bytes = new ByteArrayOutputStream();
      AnthropicExample.run(
          server.baseUrl().toString(),
          "sk-ant-test",
          "claude-sonnet-4-5",
          new PrintStream(bytes, true, StandardCharsets.UTF_8));
      String out = bytes.toString(StandardCharsets.UTF_8);
      assertTrue(out.contains("Mock reply to: Say hello in five words."), out);
      assertTrue(out.contains("Mock reply to: Count from one to five."), out);
      assertTrue(server.stats().connectionsAccepted() == 1, server.stats().toString());
    }
  }
}
