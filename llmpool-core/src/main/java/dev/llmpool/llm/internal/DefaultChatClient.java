package dev.llmpool.llm.internal;

import dev.llmpool.llm.ChatClient;
import dev.llmpool.llm.ChatOptions;
import dev.llmpool.llm.ChatResponse;
import dev.llmpool.llm.Message;
import dev.llmpool.llm.StreamListener;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import org.jspecify.annotations.Nullable;

/**
 * {@link ChatClient} on an {@link LlmHttp} seam. Immutable and thread-safe; each call is a {@link
 * ChatCall}. Request bodies are encoded once per call (retries re-send the same bytes).
 */
public final class DefaultChatClient implements ChatClient {
  private final ChatEndpoint endpoint;
  private final LlmHttp http;
  private final ChatOptions defaults;
  private final ChatClientSettings settings;
  private final RetryDecider decider;

  /**
   * @param defaults the options every call starts from (usually at least the model)
   */
  public DefaultChatClient(
      ChatEndpoint endpoint, LlmHttp http, ChatOptions defaults, ChatClientSettings settings) {
    this.endpoint = Objects.requireNonNull(endpoint, "endpoint");
    this.http = Objects.requireNonNull(http, "http");
    this.defaults = Objects.requireNonNull(defaults, "defaults");
    this.settings = Objects.requireNonNull(settings, "settings");
    this.decider = new RetryDecider(settings.retryPolicy(), settings.random());
  }

  /** The endpoint. */
  public ChatEndpoint endpoint() {
    return endpoint;
  }

  /** The settings. */
  public ChatClientSettings settings() {
    return settings;
  }

  @Override
  public ChatOptions defaultOptions() {
    return defaults;
  }

  @Override
  public ChatClient withOptions(ChatOptions overrides) {
    return new DefaultChatClient(endpoint, http, defaults.merge(overrides), settings);
  }

  @Override
  public ChatResponse complete(List<Message> messages, ChatOptions options) {
    CallerRunsExecutor exec = new CallerRunsExecutor();
    ChatCall call = newCall(messages, options, false, null, exec);
    call.start();
    return exec.await(call.result);
  }

  @Override
  public ChatResponse stream(List<Message> messages, ChatOptions options, StreamListener listener) {
    Objects.requireNonNull(listener, "listener");
    CallerRunsExecutor exec = new CallerRunsExecutor();
    ChatCall call = newCall(messages, options, true, listener, exec);
    call.start();
    return exec.await(call.result);
  }

  @Override
  public CompletableFuture<ChatResponse> completeAsync(
      List<Message> messages, ChatOptions options) {
    ChatCall call = newCall(messages, options, false, null, asyncExecutor());
    call.start();
    return call.result;
  }

  @Override
  public CompletableFuture<ChatResponse> streamAsync(
      List<Message> messages, ChatOptions options, StreamListener listener) {
    Objects.requireNonNull(listener, "listener");
    ChatCall call = newCall(messages, options, true, listener, asyncExecutor());
    call.start();
    return call.result;
  }

  private Executor asyncExecutor() {
    Executor e = settings.asyncExecutor();
    return e != null ? e : Runnable::run;
  }

  private ChatCall newCall(
      List<Message> messages,
      ChatOptions options,
      boolean streaming,
      @Nullable StreamListener listener,
      Executor exec) {
    Objects.requireNonNull(messages, "messages");
    Objects.requireNonNull(options, "options");
    ChatOptions merged = defaults.merge(options);
    byte[] body = endpoint.codec().encode(List.copyOf(messages), merged, streaming);
    Map<String, String> h = new LinkedHashMap<>();
    h.put("content-type", "application/json");
    h.put("accept", streaming ? "text/event-stream" : "application/json");
    for (Map.Entry<String, String> e : endpoint.headers()) {
      h.put(e.getKey(), e.getValue());
    }
    h.putAll(merged.headers());
    List<Map.Entry<String, String>> headers = new ArrayList<>(h.size());
    for (Map.Entry<String, String> e : h.entrySet()) {
      headers.add(ChatEndpoint.header(e.getKey(), e.getValue()));
    }
    Redactor redactor =
        merged.headers().isEmpty()
            ? endpoint.redactor()
            : endpoint.redactor().withHeaders(merged.headers().entrySet());
    return new ChatCall(
        endpoint,
        http,
        settings,
        decider,
        redactor,
        body,
        headers,
        streaming,
        listener,
        exec,
        merged.model());
  }

  /** The endpoint, without secrets. */
  @Override
  public String toString() {
    return "ChatClient{" + endpoint + ", model=" + defaults.model() + "}";
  }
}
