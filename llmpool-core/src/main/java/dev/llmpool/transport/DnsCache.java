package dev.llmpool.transport;

import dev.llmpool.time.Ticker;
import java.net.InetAddress;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import org.jspecify.annotations.Nullable;

/**
 * A DNS cache with a TTL, in front of a {@link HostResolver} [aiohttp {@code ttl_dns_cache}]. By
 * default an answer lives as long as its records' TTL, capped at 5 minutes; a fixed TTL may be
 * configured instead. Concurrent lookups of one host share one query. Failures are not cached: the
 * next connect asks again.
 *
 * <p>Expiry is checked lazily against the {@link Ticker} when an entry is read; nothing is
 * scheduled. Thread-safe (a concurrent map; entries are immutable).
 */
final class DnsCache {
  private final HostResolver resolver;
  private final Ticker ticker;
  private final @Nullable Duration fixedTtl;
  private final long maxTtlNanos;

  private final ConcurrentHashMap<String, Entry> entries = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, CompletableFuture<List<InetAddress>>> inFlight =
      new ConcurrentHashMap<>();

  private record Entry(List<InetAddress> addresses, long expiresAtNanos) {}

  /** The result of a lookup: the addresses and whether the cache answered. */
  record Lookup(List<InetAddress> addresses, boolean cached) {}

  DnsCache(HostResolver resolver, Ticker ticker, @Nullable Duration fixedTtl, Duration maxTtl) {
    this.resolver = resolver;
    this.ticker = ticker;
    this.fixedTtl = fixedTtl;
    this.maxTtlNanos = maxTtl.toNanos();
  }

  /** The cached addresses of {@code host} if still fresh, else null. */
  @Nullable List<InetAddress> cached(String host) {
    Entry e = entries.get(host);
    if (e == null) {
      return null;
    }
    if (ticker.nanoTime() - e.expiresAtNanos >= 0) {
      entries.remove(host, e);
      return null;
    }
    return e.addresses;
  }

  /** Resolves {@code host}, from the cache when fresh. */
  CompletableFuture<Lookup> lookup(String host) {
    List<InetAddress> hit = cached(host);
    if (hit != null) {
      return CompletableFuture.completedFuture(new Lookup(hit, true));
    }
    CompletableFuture<List<InetAddress>> mine = new CompletableFuture<>();
    CompletableFuture<List<InetAddress>> shared = inFlight.putIfAbsent(host, mine);
    if (shared != null) {
      return shared.thenApply(a -> new Lookup(a, false));
    }
    CompletableFuture<HostResolver.Resolved> query;
    try {
      query = resolver.resolve(host);
    } catch (RuntimeException e) {
      query = CompletableFuture.failedFuture(e);
    }
    var unused =
        query.whenComplete(
            (resolved, error) -> {
              inFlight.remove(host, mine);
              if (error != null) {
                mine.completeExceptionally(error);
                return;
              }
              entries.put(host, new Entry(resolved.addresses(), expiry(resolved.ttlSeconds())));
              mine.complete(resolved.addresses());
            });
    return mine.thenApply(a -> new Lookup(a, false));
  }

  private long expiry(long recordTtlSeconds) {
    long ttl;
    if (fixedTtl != null) {
      ttl = fixedTtl.toNanos();
    } else if (recordTtlSeconds >= 0) {
      ttl = Math.min(maxTtlNanos, Duration.ofSeconds(recordTtlSeconds).toNanos());
    } else {
      ttl = maxTtlNanos;
    }
    return ticker.nanoTime() + ttl;
  }

  /** Forgets everything (tests, and after a pool is closed). */
  void clear() {
    entries.clear();
  }
}
