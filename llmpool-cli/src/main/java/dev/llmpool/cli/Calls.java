package dev.llmpool.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.llmpool.LlmPool;
import dev.llmpool.Origin;
import dev.llmpool.http.HttpRequest;
import dev.llmpool.http.HttpResponse;
import dev.llmpool.llm.ApiStatusException;
import java.nio.charset.StandardCharsets;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/** Chat calls as the demo makes them, and what to make of a failed one. */
final class Calls {
  private Calls() {}

  static final ObjectMapper JSON = new ObjectMapper();

  /** API keys in the shapes providers echo back ({@code sk-…}, {@code sk-ant-…}). */
  private static final Pattern KEY_LIKE = Pattern.compile("\\b(sk|key|rk)-[A-Za-z0-9_*\\-]{6,}");

  /** One chat call of an agent; throws when it failed. */
  @FunctionalInterface
  interface ChatCall {
    void call(LlmPool pool, String prompt);
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
   * An OpenAI chat completion sent as raw HTTP over the pool: {@code POST /chat/completions} under
   * the pool's base URL; a non-2xx status throws {@link HttpStatusFailure}.
   */
  static ChatCall openAiRaw(String model, @Nullable Integer maxTokens, @Nullable String secret) {
    return (pool, prompt) -> {
      ObjectNode body = JSON.createObjectNode().put("model", model);
      body.putArray("messages").addObject().put("role", "user").put("content", prompt);
      if (maxTokens != null) {
        body.put("max_tokens", maxTokens);
      }
      HttpResponse r =
          pool.send(HttpRequest.post("/chat/completions").json(body.toString()).build());
      if (!r.isSuccessful()) {
        throw statusFailure(pool, r, secret);
      }
    };
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
