/**
 * llmpool-core: the pool, the Netty transport, the HTTP client and the LLM APIs. Only the packages
 * users touch are exported; the machinery ({@code pool}, {@code transport}, {@code metrics} and
 * every {@code ...internal} package) is not an API.
 */
module dev.llmpool.core {
  requires org.slf4j;
  requires static transitive org.jspecify;

  exports dev.llmpool;
  exports dev.llmpool.time;
}
