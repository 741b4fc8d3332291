package dev.llmpool.testkit;

import dev.llmpool.testkit.internal.Transports.Transport;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.function.Predicate;
import org.jspecify.annotations.Nullable;

/** The mock server's settings, as validated by {@link MockLlmServer.Builder#build()}. */
record ServerConfig(
    int port,
    boolean tls,
    boolean http1Only,
    Reply defaultReply,
    List<Rule> rules,
    double failureRate,
    long failureSeed,
    @Nullable Reply failureReply,
    @Nullable Duration closeIdleAfter,
    int maxRequestsPerConnection,
    int maxConcurrentStreams,
    int maxRequestBodyBytes,
    int maxHeaderBytes,
    @Nullable String apiKey,
    List<String> models,
    long requestsPerMinute,
    long tokensPerMinute,
    Clock clock,
    int eventLoopThreads,
    int requestLogLimit,
    Transport transport) {

  /** A predicate-matched reply. */
  record Rule(Predicate<RecordedRequest> when, Reply reply) {}
}
