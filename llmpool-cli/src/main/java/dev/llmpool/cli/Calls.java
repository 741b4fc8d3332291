package dev.llmpool.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.llmpool.LlmPool;
import dev.llmpool.Origin;
import dev.llmpool.http.HttpResponse;
import dev.llmpool.llm.ApiStatusException;
import dev.llmpool.llm.ChatClient;
import dev.llmpool.llm.Message;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/** Chat calls as the demo makes them, and what to make of a failed one. */
final class Calls {
  private Calls() {}

  static final ObjectMapper JSON = new ObjectMapper();

  /** API keys in the shapes providers echo back ({@code sk-…}, {@code sk-ant-…}). */
  private static final Pattern KEY_LIKE = Pattern.compile("\\b(sk|key|rk)-[A-Za-z0-9_*\\-]{6,}");

  /** How an agent makes its chat calls on a pool. */
  @FunctionalInterface
  interface ChatCall {
    /** The caller for {@code pool}: made once per pool, as a user makes one client per pool. */
    Caller on(LlmPool pool);
  }

  /** One chat call of an agent; throws when it failed. */
  @FunctionalInterface
  interface Caller {
    void call(String prompt);
  }

  /** The HTTP status a failure carries, if it is an error answer. */
  static @Nullable Integer statusOf(Throwable e) {
    if (e instanceof ApiStatusException a) {
      return a.status();
    }
    if (e instanceof HttpStatusFailure s) {
      return s.status();
    }
    return null;
  }

  /**
   * OpenAI chat completions through llmpool's {@link ChatClient} ({@code pool.openAiChat(model)}):
   * {@code POST /chat/completions} under the pool's base URL, the answer parsed. An error answer
   * throws the LLM layer's {@link ApiStatusException}, its message with {@code secret} (the key
   * sent) and anything key-like masked.
   */
  static ChatCall openAiChat(String model, @Nullable String secret) {
    return pool -> {
      ChatClient chat = pool.openAiChat(model);
      return prompt -> {
        try {
          chat.complete(List.of(Message.user(prompt)));
        } catch (ApiStatusException e) {
          throw new HttpStatusFailure(e.origin(), e.error().status(), masked(e, secret));
        }
      };
    };
  }

  /** What the provider said about a refused call, with secrets masked. */
  private static String masked(ApiStatusException e, @Nullable String secret) {
    String m = e.error().message();
    return m == null || m.isBlank() ? "" : ": " + redact(m, secret);
  }

  /**
   * The failure for an error answer: its status and the provider's message, with {@code secret}
   * (the key sent) and anything that looks like a key masked.
   */
  static HttpStatusFailure statusFailure(LlmPool pool, HttpResponse r, @Nullable String secret) {
    String detail = "";
    try {
      JsonNode error = JSON.readTree(r.body()).path("error");
      String message = error.isTextual() ? error.asText() : error.path("message").asText("");
      if (!message.isBlank()) {
        detail = ": " + redact(message, secret);
      }
    } catch (java.io.IOException | RuntimeException e) {
      String text = new String(r.body(), StandardCharsets.UTF_8).strip();
      if (!text.isEmpty()) {
        detail = ": " + redact(text.length() > 200 ? text.substring(0, 200) + "…" : text, secret);
      }
    }
    var base = pool.baseUrl();
    return new HttpStatusFailure(base == null ? null : Origin.of(base), r.status(), detail);
  }

  /** Hides anything that looks like an API key (providers echo part of a wrong one). */
  static String redact(String text, @Nullable String secret) {
    String oneLine = text.replace('\n', ' ').replace('\r', ' ');
    if (secret != null && secret.length() >= 4) {
      oneLine = oneLine.replace(secret, "***");
    }
    return KEY_LIKE.matcher(oneLine).replaceAll("$1-***");
  }
}
