package dev.llmpool.llm;

import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * Talks to one LLM API (OpenAI-compatible chat completions or Anthropic messages) over the pooled
 * HTTP client, with retries, rate-limit pacing and typed errors. Thread-safe: share one per API and
 * model; it holds no connection of its own.
 *
 * <pre>{@code
 * ChatResponse r = chat.complete(List.of(Message.user("Hello")));
 * System.out.println(r.text());
 * chat.stream(List.of(Message.user("Hello")), token -> System.out.print(token));
 * }</pre>
 *
 * <p>Blocking methods are safe on virtual threads. Failures are {@link
 * dev.llmpool.LlmPoolException} subclasses: {@link ApiStatusException} and its subclasses when the
 * server answered with an error (status, or an {@code error} event inside a stream), the HTTP
 * layer's exceptions for connections and timeouts ({@link dev.llmpool.TotalTimeoutException} when
 * the whole call, retries included, overran {@code timeouts.total}), {@link
 * dev.llmpool.HttpProtocolException} when a 2xx body is not what the API promises. An interrupted
 * blocking call cancels the request, keeps the thread's interrupt flag and throws {@link
 * java.util.concurrent.CancellationException}. The async forms complete exceptionally with the same
 * exceptions (unwrapped); cancelling their future cancels the request.
 */
public interface ChatClient {

  /** The options every call starts from (at least the model). */
  ChatOptions defaultOptions();

  /**
   * A client sharing this one's connections and settings, whose default options are {@link
   * #defaultOptions()} merged with {@code overrides}.
   */
  ChatClient withOptions(ChatOptions overrides);

  /** Asks for a whole answer with the default options. */
  default ChatResponse complete(List<Message> messages) {
    return complete(messages, ChatOptions.EMPTY);
  }

  /**
   * Asks for a whole answer.
   *
   * @param options laid over the default options for this call
   * @return the answer: {@link ChatResponse#text()} and everything else the response said
   */
  ChatResponse complete(List<Message> messages, ChatOptions options);

  /** Streams an answer with the default options. */
  default ChatResponse stream(List<Message> messages, StreamListener listener) {
    return stream(messages, ChatOptions.EMPTY, listener);
  }

  /**
   * Streams an answer: {@code listener} hears each piece as it arrives; when the stream ends this
   * returns the whole answer, with {@link ChatResponse#timeToFirstToken()}.
   */
  ChatResponse stream(List<Message> messages, ChatOptions options, StreamListener listener);

  /** {@link #complete(List)} without blocking. */
  default CompletableFuture<ChatResponse> completeAsync(List<Message> messages) {
    return completeAsync(messages, ChatOptions.EMPTY);
  }

  /** {@link #complete(List, ChatOptions)} without blocking. */
  CompletableFuture<ChatResponse> completeAsync(List<Message> messages, ChatOptions options);

  /** {@link #stream(List, StreamListener)} without blocking. */
  default CompletableFuture<ChatResponse> streamAsync(
      List<Message> messages, StreamListener listener) {
    return streamAsync(messages, ChatOptions.EMPTY, listener);
  }

  /** {@link #stream(List, ChatOptions, StreamListener)} without blocking. */
  CompletableFuture<ChatResponse> streamAsync(
      List<Message> messages, ChatOptions options, StreamListener listener);
}
