/**
 * llmpool-micrometer: Micrometer metrics for an {@code LlmPool}. Micrometer ships as an automatic
 * module ({@code micrometer.core}); its types are in this module's API, hence the transitive
 * requirement and the suppressed warnings about it.
 */
@SuppressWarnings({"requires-automatic", "requires-transitive-automatic"})
module dev.llmpool.micrometer {
  requires transitive dev.llmpool.core;
  requires transitive micrometer.core;
  requires static transitive org.jspecify;

  exports dev.llmpool.micrometer;
}
