package dev.llmpool.llm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class MessageTest {

  @Test
  void factoriesSetRoleAndContent() {
    assertThat(Message.user("hi"))
        .isEqualTo(new Message(Message.Role.USER, "hi", null, null, List.of()));
    assertThat(Message.system("s").role()).isEqualTo(Message.Role.SYSTEM);
    assertThat(Message.assistant("a").text()).isEqualTo("a");
    Message tool = Message.toolResult("call_1", "42");
    assertThat(tool.role()).isEqualTo(Message.Role.TOOL);
    assertThat(tool.toolCallId()).isEqualTo("call_1");
    Message json = Message.ofJson(Message.Role.USER, "[{\"type\":\"text\",\"text\":\"x\"}]");
    assertThat(json.text()).isNull();
    assertThat(json.contentJson()).startsWith("[");
  }

  @Test
  void theModelsAnswerGoesBackIntoTheConversation() {
    ToolCall call = new ToolCall("call_1", "f", "{}");
    ChatResponse r =
        new ChatResponse(
            "",
            List.of(call),
            "id",
            "m",
            "tool_calls",
            null,
            RateLimits.NONE,
            null,
            Duration.ZERO,
            Duration.ZERO,
            null,
            1,
            "{}");
    Message m = Message.assistant(r);
    assertThat(m.text()).isNull();
    assertThat(m.toolCalls()).containsExactly(call);
    ChatResponse plain =
        new ChatResponse(
            "",
            List.of(),
            "id",
            "m",
            "stop",
            null,
            RateLimits.NONE,
            null,
            Duration.ZERO,
            Duration.ZERO,
            null,
            1,
            "{}");
    assertThat(Message.assistant(plain).text()).isEmpty();
  }

  @Test
  void inconsistentMessagesAreRefused() {
    assertThatThrownBy(() -> new Message(Message.Role.USER, "a", "\"b\"", null, List.of()))
        .hasMessageContaining("not both");
    assertThatThrownBy(() -> new Message(Message.Role.USER, null, null, null, List.of()))
        .hasMessageContaining("needs content");
    assertThatThrownBy(() -> new Message(Message.Role.TOOL, "x", null, null, List.of()))
        .hasMessageContaining("toolCallId");
    assertThatThrownBy(() -> new Message(Message.Role.USER, "x", null, "id", List.of()))
        .hasMessageContaining("only a tool message");
    assertThatThrownBy(
            () ->
                new Message(
                    Message.Role.USER, "x", null, null, List.of(new ToolCall("i", "n", "{}"))))
        .hasMessageContaining("only an assistant");
    assertThatThrownBy(() -> Message.ofJson(Message.Role.USER, "[unclosed"))
        .hasMessageContaining("contentJson is not valid JSON");
  }

  @Test
  void toStringHidesTheContent() {
    assertThat(Message.user("my secret plan").toString())
        .doesNotContain("secret")
        .contains("14 chars");
  }

  @Test
  void chatResponseToStringIsShort() {
    ChatResponse r =
        new ChatResponse(
            "private answer",
            List.of(),
            "id",
            "m",
            "stop",
            new Usage(1, 2, 3, 0, 0, 0),
            RateLimits.NONE,
            "req",
            Duration.ofMillis(5),
            Duration.ofMillis(3),
            null,
            1,
            "{\"huge\":true}");
    assertThat(r.toString())
        .doesNotContain("private answer")
        .doesNotContain("huge")
        .contains("14 chars");
  }
}
