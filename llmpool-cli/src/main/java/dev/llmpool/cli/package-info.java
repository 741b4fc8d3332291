/**
 * The {@code llmpool} command line: {@code demo} (what pooling saves, on an embedded mock server or
 * a real API), {@code bench} (a load generator), {@code mock} (the testkit's server on a port),
 * {@code chat} (one prompt to a real or mock LLM API).
 *
 * <p>Not an API: everything here is package-private machinery behind {@link dev.llmpool.cli.Main}.
 */
@NullMarked
package dev.llmpool.cli;

import org.jspecify.annotations.NullMarked;
