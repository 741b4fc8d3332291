package dev.llmpool.transport;

import dev.llmpool.pool.Connection;
import dev.llmpool.pool.ConnectionListener;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;

/** Records what connections tell the pool. */
final class RecordingConnectionListener implements ConnectionListener {
  final List<String> events = new CopyOnWriteArrayList<>();
  final CompletableFuture<Connection> closed = new CompletableFuture<>();
  final CompletableFuture<Connection> noNew = new CompletableFuture<>();
  final List<Integer> capacities = new CopyOnWriteArrayList<>();

  @Override
  public void capacityChanged(Connection connection) {
    capacities.add(connection.maxConcurrentExchanges());
    events.add("capacity " + connection.maxConcurrentExchanges());
  }

  @Override
  public void noNewExchanges(Connection connection) {
    events.add("noNewExchanges");
    noNew.complete(connection);
  }

  @Override
  public void closed(Connection connection) {
    events.add("closed");
    closed.complete(connection);
  }
}
