package dev.llmpool.bench.peers;

import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.jspecify.annotations.Nullable;

/**
 * Memory of idle pooled connections, in a JVM that ran nothing else. The heap is pre-touched
 * ({@code -XX:+AlwaysPreTouch} with {@code -Xms} = {@code -Xmx}), so growth of the anonymous
 * resident set ({@code RssAnon}) is native memory: thread stacks, direct buffers, TLS engines;
 * kernel-side socket state is not in it. File-backed pages (the JVM's code, its class archive) are
 * left out: the kernel may reclaim them while the probe runs, which made the whole RSS shrink.
 *
 * <ul>
 *   <li>HTTP/1.1: a burst of {@code connections} concurrent calls whose answers nginx holds back
 *       for 1 s, so the client opens one connection per call (its cap allows it), then idle.
 *   <li>h2 over TLS: one call to each of nginx's extra TLS ports, one origin each, since an HTTP/2
 *       client keeps one connection per origin; so the figure includes the client's per-origin
 *       state, as it does in an application talking to several hosts.
 * </ul>
 *
 * Each figure is the growth from a warm baseline (the client already used, a few connections open)
 * divided by the connections added.
 */
final class MemoryProbe {
  private static final Duration BURST_LIMIT = Duration.ofSeconds(60);
  private static final int WARM_CONNECTIONS = 8;

  private MemoryProbe() {}

  static Results.Memory run(PeerClientFactory factory, Target target, Protocol p, int connections) {
    String unsupported = factory.unsupported(p);
    if (unsupported != null) {
      return Results.Memory.skipped(factory.name(), p, Results.UNSUPPORTED, unsupported);
    }
    if (p == Protocol.H2C) {
      return Results.Memory.skipped(
          factory.name(), p, Results.NOT_APPLICABLE, "measured for h1 and h2");
    }
    if (p == Protocol.H2 && target.memoryTlsPorts() <= WARM_CONNECTIONS) {
      return Results.Memory.skipped(
          factory.name(), p, Results.NOT_APPLICABLE, "no extra TLS ports (--memory-ports)");
    }
    String tag = factory.name() + "/mem/" + p.key();
    try (PeerClient client = factory.open(target, p, PoolSettings.MEMORY, tag)) {
      Results.Memory m =
          p == Protocol.H1
              ? http1(factory, target, client, connections)
              : h2(factory, target, client);
      ClientRunner.log(
          "%-14s memory %-3s %5d connections (+%d): heap %,8.0f B/conn  native %,8.0f B/conn  RSS %,6.1f MiB (%,.1f MiB besides the heap)  threads %d%s",
          factory.name(),
          p.key(),
          m.connections(),
          m.connectionsAdded(),
          m.heapBytesPerConnection(),
          m.nativeBytesPerConnection(),
          m.rssBytes() / 1048576.0,
          m.nonHeapRssBytes() / 1048576.0,
          m.threads(),
          m.note() == null ? "" : "  (" + m.note() + ")");
      return m;
    } catch (Exception e) {
      return Results.Memory.skipped(factory.name(), p, Results.FAILED, LoadDriver.describe(e));
    }
  }

  private static Results.Memory http1(
      PeerClientFactory factory, Target target, PeerClient client, int want)
      throws InterruptedException {
    URI uri = target.uri(Protocol.H1, target.slowPath());
    Set<Integer> ports = Set.of(target.h1Port());
    List<URI> warm = new ArrayList<>();
    for (int i = 0; i < WARM_CONNECTIONS; i++) {
      warm.add(uri);
    }
    for (int i = 0; i < 3; i++) {
      burst(client, warm);
    }
    Reading before = Reading.take(ports);
    List<URI> all = new ArrayList<>();
    for (int i = 0; i < want; i++) {
      all.add(uri);
    }
    @Nullable String note = null;
    for (int round = 0; round < 3; round++) {
      note = burst(client, all);
      if (Meters.establishedConnectionsTo(ports) >= want) {
        break;
      }
    }
    Reading after = Reading.take(ports);
    if (after.connections < want) {
      note =
          "held "
              + after.connections
              + " of "
              + want
              + " after 3 bursts"
              + (note == null ? "" : "; " + note);
    }
    return result(factory, Protocol.H1, before, after, note);
  }

  private static Results.Memory h2(PeerClientFactory factory, Target target, PeerClient client)
      throws InterruptedException {
    Set<Integer> ports = new HashSet<>();
    List<URI> warm = new ArrayList<>();
    List<URI> rest = new ArrayList<>();
    for (int i = 0; i < target.memoryTlsPorts(); i++) {
      ports.add(target.memoryTlsBasePort() + i);
      (i < WARM_CONNECTIONS ? warm : rest).add(target.memoryTlsUri(i, target.slowPath()));
    }
    burst(client, warm);
    burst(client, warm);
    Reading before = Reading.take(ports);
    String note = burst(client, rest);
    Reading after = Reading.take(ports);
    return result(factory, Protocol.H2, before, after, note);
  }

  private static Results.Memory result(
      PeerClientFactory factory, Protocol p, Reading before, Reading after, @Nullable String note) {
    int added = after.connections - before.connections;
    double per = Math.max(added, 1);
    return new Results.Memory(
        factory.name(),
        p.key(),
        added > 0 ? Results.OK : Results.FAILED,
        note,
        after.connections,
        added,
        (after.heapUsed - before.heapUsed) / per,
        (after.rssAnon - before.rssAnon) / per,
        after.rss,
        after.rss - after.heapCommitted,
        after.threads);
  }

  /** Sends one call to each URI at once and waits for all; returns the first failure, if any. */
  private static @Nullable String burst(PeerClient client, List<URI> uris)
      throws InterruptedException {
    CountDownLatch done = new CountDownLatch(uris.size());
    AtomicReference<@Nullable String> error = new AtomicReference<>();
    for (URI uri : uris) {
      client.post(
          uri,
          new PeerClient.Outcome() {
            @Override
            public void completed(int status, int bodyBytes) {
              if (status != 200) {
                error.compareAndSet(null, "HTTP " + status);
              }
              done.countDown();
            }

            @Override
            public void failed(Throwable e) {
              error.compareAndSet(null, LoadDriver.describe(e));
              done.countDown();
            }
          });
    }
    if (!done.await(BURST_LIMIT.toMillis(), TimeUnit.MILLISECONDS)) {
      return done.getCount() + " calls did not end within " + BURST_LIMIT.toSeconds() + " s";
    }
    return error.get();
  }

  /**
   * Heap in use after a full collection, RSS (all of it, and its anonymous part), connections to
   * nginx and live threads.
   */
  private record Reading(
      long heapUsed, long heapCommitted, long rss, long rssAnon, int connections, int threads) {
    static Reading take(Set<Integer> ports) {
      MemoryMXBean mem = ManagementFactory.getMemoryMXBean();
      // Two collections and a pause so that finalizable and reference-queued objects are gone too.
      for (int i = 0; i < 2; i++) {
        System.gc();
        LoadDriver.parkFor(Duration.ofMillis(200));
      }
      return new Reading(
          mem.getHeapMemoryUsage().getUsed(),
          mem.getHeapMemoryUsage().getCommitted(),
          Meters.rssBytes(),
          Meters.rssAnonBytes(),
          Meters.establishedConnectionsTo(ports),
          Meters.threadCount());
    }
  }
}
