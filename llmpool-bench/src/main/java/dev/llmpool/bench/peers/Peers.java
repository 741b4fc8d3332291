package dev.llmpool.bench.peers;

import dev.llmpool.bench.peers.clients.ApachePeer;
import dev.llmpool.bench.peers.clients.JdkPeer;
import dev.llmpool.bench.peers.clients.JettyPeer;
import dev.llmpool.bench.peers.clients.LlmPoolPeer;
import dev.llmpool.bench.peers.clients.OkHttpPeer;
import dev.llmpool.bench.peers.clients.ReactorNettyPeer;
import java.util.ArrayList;
import java.util.List;

/**
 * Every client the harness knows, in the order the tables list them. llmpool comes first; adding a
 * client is one {@link PeerClientFactory} and one line here.
 */
public final class Peers {
  private Peers() {}

  /** All clients, the default set of a run. */
  public static List<PeerClientFactory> all() {
    return List.of(
        new LlmPoolPeer(),
        new JdkPeer(),
        new OkHttpPeer(),
        new JettyPeer(),
        new ApachePeer(false),
        new ApachePeer(true),
        new ReactorNettyPeer(false),
        new ReactorNettyPeer(true));
  }

  /** The clients named in {@code names} (comma-separated), or all for {@code "all"}. */
  public static List<PeerClientFactory> select(String names) {
    if (names.isBlank() || names.equals("all")) {
      return all();
    }
    List<PeerClientFactory> out = new ArrayList<>();
    for (String n : names.split(",", -1)) {
      out.add(byName(n.trim()));
    }
    return out;
  }

  /** The client called {@code name}. */
  public static PeerClientFactory byName(String name) {
    for (PeerClientFactory f : all()) {
      if (f.name().equals(name)) {
        return f;
      }
    }
    List<String> names = new ArrayList<>();
    for (PeerClientFactory f : all()) {
      names.add(f.name());
    }
    throw new IllegalArgumentException("unknown client '" + name + "'; known: " + names);
  }
}
