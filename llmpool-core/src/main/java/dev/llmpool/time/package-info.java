/**
 * Time: the one monotonic time source ({@link dev.llmpool.time.Ticker}), a scheduler on it, and
 * manual versions of both for tests. Nothing else in llmpool reads the system clock; the build's
 * forbidden-API check enforces it.
 */
@NullMarked
package dev.llmpool.time;

import org.jspecify.annotations.NullMarked;
