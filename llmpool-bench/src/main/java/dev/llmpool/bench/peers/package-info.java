/**
 * The side-by-side comparison of llmpool with the JVM's other HTTP clients (issue 10).
 *
 * <p>{@code llmpool-bench/peers.sh} is the one command: it starts nginx on 127.0.0.1, then {@link
 * dev.llmpool.bench.peers.PeerBench} starts one JVM per client ({@link
 * dev.llmpool.bench.peers.ClientRunner}), each driving the same requests through a {@link
 * dev.llmpool.bench.peers.PeerClient} adapter, and writes the results as JSON, CSV, Markdown and a
 * chart. A client joins the comparison with one adapter class and one line in {@link
 * dev.llmpool.bench.peers.Peers}.
 */
@NullMarked
package dev.llmpool.bench.peers;

import org.jspecify.annotations.NullMarked;
