/**
 * Internal machinery of the HTTP client (the call engine, streaming bodies): not exported from the
 * module, not a supported API; its types may change in any release.
 */
@NullMarked
package dev.llmpool.http.internal;

import org.jspecify.annotations.NullMarked;
