/**
 * An embedded mock LLM server and a latency proxy for tests, demos and benchmarks.
 *
 * <p>{@link dev.llmpool.testkit.MockLlmServer} speaks OpenAI chat completions and Anthropic
 * messages (JSON and SSE) over HTTP/1.1, h2c with prior knowledge, and TLS with ALPN, and
 * misbehaves on demand: a {@link dev.llmpool.testkit.Reply} says what to do with one request (text,
 * status, latency, pace, a {@link dev.llmpool.testkit.Fault}); the server records every request
 * ({@link dev.llmpool.testkit.RecordedRequest}) and counts what happened ({@link
 * dev.llmpool.testkit.MockServerStats}). {@link dev.llmpool.testkit.LatencyProxy} puts a round trip
 * time between a client and any server on 127.0.0.1.
 */
@NullMarked
package dev.llmpool.testkit;

import org.jspecify.annotations.NullMarked;
