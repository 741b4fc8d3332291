/**
 * llmpool-core: the pool, the Netty transport, the HTTP client and the LLM APIs. Only the packages
 * users touch are exported; the machinery ({@code pool}, {@code transport}, {@code metrics} and
 * every {@code ...internal} package) is not an API.
 */
module dev.llmpool.core {
  requires org.slf4j;
  requires io.netty.common;
  requires io.netty.buffer;
  requires io.netty.transport;
  requires io.netty.handler;
  requires io.netty.codec;
  requires io.netty.codec.http;
  requires io.netty.codec.http2;
  requires io.netty.resolver;
  requires io.netty.resolver.dns;
  requires io.netty.codec.dns;
  requires io.netty.transport.classes.epoll;
  requires io.netty.transport.unix.common;
  requires static jdk.net;
  requires com.fasterxml.jackson.databind;
  requires static transitive org.jspecify;

  exports dev.llmpool;
  exports dev.llmpool.time;
  exports dev.llmpool.http;
  exports dev.llmpool.llm;
}
