package dev.llmpool.transport;

import io.netty.channel.EventLoop;
import io.netty.channel.socket.DatagramChannel;
import io.netty.handler.codec.dns.DnsRecord;
import io.netty.resolver.dns.DnsCache;
import io.netty.resolver.dns.DnsCacheEntry;
import io.netty.resolver.dns.DnsNameResolver;
import io.netty.resolver.dns.DnsNameResolverBuilder;
import io.netty.resolver.dns.NoopDnsCnameCache;
import java.net.InetAddress;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import org.jspecify.annotations.Nullable;

/**
 * Asynchronous DNS through Netty's resolver (reads {@code /etc/resolv.conf} and {@code /etc/hosts};
 * no thread per lookup). Netty's own cache is replaced by one that only records each answer's TTL,
 * so that llmpool's {@link dev.llmpool.transport.DnsCache} owns expiry and the "cached" flag of the
 * event listener is true only when no query was sent.
 */
final class NettyDnsResolver implements HostResolver {
  private final DnsNameResolver resolver;
  private final TtlRecorder ttls = new TtlRecorder();

  NettyDnsResolver(
      EventLoop loop, Class<? extends DatagramChannel> datagramType, long queryTimeoutMillis) {
    this.resolver =
        new DnsNameResolverBuilder(loop)
            .datagramChannelType(datagramType)
            .resolveCache(ttls)
            .cnameCache(NoopDnsCnameCache.INSTANCE)
            .queryTimeoutMillis(queryTimeoutMillis)
            .build();
  }

  @Override
  public CompletableFuture<Resolved> resolve(String host) {
    CompletableFuture<Resolved> result = new CompletableFuture<>();
    resolver
        .resolveAll(host)
        .addListener(
            f -> {
              if (f.isSuccess()) {
                @SuppressWarnings("unchecked")
                List<InetAddress> addresses = (List<InetAddress>) f.getNow();
                Long ttl = ttls.take(host);
                if (addresses == null || addresses.isEmpty()) {
                  result.completeExceptionally(
                      new java.net.UnknownHostException("no address for " + host));
                } else {
                  result.complete(new Resolved(addresses, ttl == null ? -1 : ttl));
                }
              } else {
                ttls.take(host);
                result.completeExceptionally(f.cause());
              }
            });
    return result;
  }

  @Override
  public void close() {
    resolver.close();
  }

  /** A Netty DNS cache that caches nothing and remembers the smallest TTL seen per name. */
  private static final class TtlRecorder implements DnsCache {
    private final ConcurrentHashMap<String, Long> minTtl = new ConcurrentHashMap<>();

    @Nullable Long take(String host) {
      Long t = minTtl.remove(host);
      return t != null ? t : minTtl.remove(host + ".");
    }

    @Override
    public void clear() {
      minTtl.clear();
    }

    @Override
    public boolean clear(String hostname) {
      return minTtl.remove(hostname) != null;
    }

    @Override
    public List<? extends DnsCacheEntry> get(String hostname, DnsRecord[] additionals) {
      return List.of();
    }

    @Override
    public @Nullable DnsCacheEntry cache(
        String hostname,
        DnsRecord[] additionals,
        InetAddress address,
        long originalTtl,
        EventLoop loop) {
      minTtl.merge(hostname, originalTtl, Math::min);
      return null;
    }

    @Override
    public @Nullable DnsCacheEntry cache(
        String hostname, DnsRecord[] additionals, Throwable cause, EventLoop loop) {
      return null;
    }
  }
}
