package dev.llmpool.llm.internal;

import java.util.concurrent.CompletableFuture;

/**
 * The seam between the LLM layer and the HTTP client: all a chat client needs to send one request
 * and read its response, whole or as a stream of byte chunks. Part of the LLM layer so that it can
 * be built and tested without the transport; the HTTP layer adapts {@code dev.llmpool.http} to it
 * (and tests use an in-memory fake).
 *
 * <p>Contract for implementations:
 *
 * <ul>
 *   <li>{@link #send} never blocks; the future completes once the status line and headers have
 *       arrived, or exceptionally with a {@link dev.llmpool.LlmPoolException} (never wrapped) that
 *       names the phase and origin and says, by {@link
 *       dev.llmpool.LlmPoolException#requestMayHaveBeenProcessed()}, whether the request may have
 *       reached the server. The chat client retries only failures where it is false (unless its
 *       policy says otherwise), so that flag must be exact.
 *   <li>The HTTP layer applies its own connect, write, read and pool timeouts, and stops by the
 *       request's {@link LlmHttpRequest#deadlineNanos()} (the chat call's {@code timeouts.total}).
 *       It re-sends, transparently, a request that provably never reached the server: one on a
 *       stale pooled connection that died before the request was fully written and before any byte
 *       of the response arrived, or an HTTP/2 stream refused with {@code REFUSED_STREAM} or
 *       numbered above a GOAWAY's last-stream-id. A re-sent stream can be refused again (a server
 *       retiring connections every few streams), so it does this up to {@code
 *       HttpEngine.MAX_SAFE_RETRIES} (3) times, within the request's deadline; each re-send is an
 *       {@code EventListener.retry} event. A request that may have been processed is never re-sent
 *       by the HTTP layer.
 *   <li>Cancelling the returned future, or closing the response, releases the connection or stream;
 *       it is safe from any thread and more than once.
 *   <li>Futures may be completed on I/O threads; the chat client hops off them before running
 *       anything slow.
 * </ul>
 */
@FunctionalInterface
public interface LlmHttp {

  /** Sends {@code request}; see the class comment for the contract. */
  CompletableFuture<LlmHttpResponse> send(LlmHttpRequest request);
}
