/** JMH benchmarks; run them as docs/benchmarks.md says, never in the default build. */
package dev.llmpool.bench;
