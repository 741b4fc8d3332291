package example;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmpool.testkit.MockLlmServer;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class LangChain4jExampleTest {
  @Test
  void theExampleRunsAgainstTheMockServer() {
    try (MockLlmServer server = MockLlmServer.builder().start()) {
      ByteArrayOutputStream bytes = new ByteArrayOutputStream();
      LangChain4jExample.run(
          server.url("/v1").toString(),
          "sk-test",
          "gpt-4o-mini",
          new PrintStream(bytes, true, StandardCharsets.UTF_8));
      String out = bytes.toString(StandardCharsets.UTF_8);
      assertTrue(out.contains("Mock reply to: Say hello in five words."), out);
      assertTrue(out.contains("Mock reply to: Count from one to five."), out);
      assertTrue(server.stats().connectionsAccepted() == 1, server.stats().toString());
    }
  }
}
