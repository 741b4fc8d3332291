/**
 * One {@link dev.llmpool.bench.peers.PeerClientFactory} per client library, each configured as
 * {@link dev.llmpool.bench.peers.PoolSettings} says and using the library's asynchronous API the
 * way its documentation shows.
 */
@NullMarked
package dev.llmpool.bench.peers.clients;

import org.jspecify.annotations.NullMarked;
