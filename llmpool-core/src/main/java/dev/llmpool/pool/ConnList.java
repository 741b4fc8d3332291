package dev.llmpool.pool;

import org.jspecify.annotations.Nullable;

/**
 * An intrusive doubly linked list of connections: one per state per origin (connecting, idle,
 * active, draining). A connection's membership in exactly one list <em>is</em> its state, so moving
 * it is O(1) and nothing is counted twice: the counts in {@code PoolStats} are these lists' sizes.
 *
 * <p>Not thread-safe: guarded by the pool's lock, like everything reachable from a {@link SubPool}.
 */
final class ConnList {
  final String state;
  @Nullable PooledConnection head;
  @Nullable PooledConnection tail;
  int size;

  ConnList(String state) {
    this.state = state;
  }

  /** Adds {@code c}, which is in no list, at the head (for the idle list: most recently used). */
  void addFirst(PooledConnection c) {
    assert c.list == null : c + " is already in " + c.list;
    c.list = this;
    c.prev = null;
    c.next = head;
    if (head != null) {
      head.prev = c;
    } else {
      tail = c;
    }
    head = c;
    size++;
  }

  /** Adds {@code c}, which is in no list, at the tail. */
  void addLast(PooledConnection c) {
    assert c.list == null : c + " is already in " + c.list;
    c.list = this;
    c.next = null;
    c.prev = tail;
    if (tail != null) {
      tail.next = c;
    } else {
      head = c;
    }
    tail = c;
    size++;
  }

  /** Removes {@code c}, which must be in this list. */
  void remove(PooledConnection c) {
    assert c.list == this : c + " is in " + c.list + ", not " + state;
    PooledConnection p = c.prev;
    PooledConnection n = c.next;
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
    c.prev = null;
    c.next = null;
    c.list = null;
    size--;
  }

  @Override
  public String toString() {
    return state;
  }
}
