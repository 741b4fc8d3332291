/**
 * Machinery of the testkit: certificate generation, transport selection, duration formats and the
 * latency proxy's delay line. Not an API: nothing here is exported from the module.
 */
@NullMarked
package dev.llmpool.testkit.internal;

import org.jspecify.annotations.NullMarked;
