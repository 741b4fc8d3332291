package dev.llmpool.pool;

import org.jspecify.annotations.Nullable;

/**
 * The FIFO of calls waiting for a connection to one origin: an intrusive doubly linked list, so a
 * waiter that times out or is cancelled leaves in O(1) from anywhere in the queue.
 *
 * <p>Not thread-safe: guarded by the pool's lock.
 */
final class WaiterList {
  @Nullable Waiter head;
  @Nullable Waiter tail;
  int size;

  void addLast(Waiter w) {
    assert !w.linked : w + " is already queued";
    w.linked = true;
    w.next = null;
    w.prev = tail;
    if (tail != null) {
      tail.next = w;
    } else {
      head = w;
    }
    tail = w;
    size++;
  }

  void remove(Waiter w) {
    assert w.linked : w + " is not queued";
    Waiter p = w.prev;
    Waiter n = w.next;
    if (p != null) {
      p.next = n;
    } else {
      head = n;
    }
    if (n != null) {
      n.prev = p;
    } else {
      tail = p;
    }
    w.prev = null;
    w.next = null;
    w.linked = false;
    size--;
  }
}
