/**
 * Internal machinery: not exported from the module, not a supported API; its types may change in
 * any release. Do not use them from application code.
 */
@NullMarked
package dev.llmpool.transport;

import org.jspecify.annotations.NullMarked;
