package dev.llmpool.transport;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;

/**
 * The JDK's resolver ({@code getaddrinfo}, honouring nsswitch), for platforms where Netty's DNS
 * client cannot start. It blocks, so it runs on the given executor. It knows no record TTL.
 */
final class JdkResolver implements HostResolver {
  private final Executor executor;

  JdkResolver(Executor executor) {
    this.executor = executor;
  }

  @Override
  public CompletableFuture<Resolved> resolve(String host) {
    return CompletableFuture.supplyAsync(
        () -> {
          try {
            return new Resolved(Arrays.asList(InetAddress.getAllByName(host)), -1);
          } catch (UnknownHostException e) {
            throw new CompletionException(e);
          }
        },
        executor);
  }
}
