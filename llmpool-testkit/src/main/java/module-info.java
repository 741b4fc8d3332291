/**
 * llmpool-testkit: an embedded mock LLM server and a latency proxy, for tests, demos and
 * benchmarks. It depends on Netty and Jackson only (never on llmpool-core) so that it stays an
 * independent check on the client. Only {@code dev.llmpool.testkit} is an API.
 */
module dev.llmpool.testkit {
  requires io.netty.common;
  requires io.netty.buffer;
  requires io.netty.transport;
  requires io.netty.transport.classes.epoll;
  requires io.netty.handler;
  requires io.netty.codec;
  requires io.netty.codec.http;
  requires io.netty.codec.http2;
  requires com.fasterxml.jackson.databind;
  requires static transitive org.jspecify;

  exports dev.llmpool.testkit;
}
