/**
 * Micrometer metrics for llmpool: {@link dev.llmpool.micrometer.LlmPoolMetrics}, a {@code
 * MeterBinder} named after the OpenTelemetry HTTP client semantic conventions.
 */
@NullMarked
package dev.llmpool.micrometer;

import org.jspecify.annotations.NullMarked;
