package dev.llmpool.time;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.PriorityQueue;
import org.jspecify.annotations.Nullable;

/**
 * A {@link Scheduler} for tests, on a {@link ManualTicker}: nothing runs until the test calls
 * {@link #advance(Duration)} or {@link #runDueTasks()}, and then due tasks run on the calling
 * thread, in deadline order (ties in the order they were scheduled), with the ticker set to each
 * task's deadline while it runs. A task may schedule further tasks; those that fall due within the
 * same advance run too.
 *
 * <p>Thread-safe: tasks may be scheduled and cancelled from any thread; tasks run only on the
 * thread that advances time, outside the scheduler's lock.
 */
public final class ManualScheduler implements Scheduler {
  private final ManualTicker ticker;
  private final Object lock = new Object();

  // Guarded by lock.
  private final PriorityQueue<Task> queue = new PriorityQueue<>();
  private long nextSeq;

  /** A scheduler on a new {@link ManualTicker}. */
  public ManualScheduler() {
    this(new ManualTicker());
  }

  /** A scheduler on the given ticker; advance time through this scheduler, not the ticker. */
  public ManualScheduler(ManualTicker ticker) {
    this.ticker = ticker;
  }

  @Override
  public ManualTicker ticker() {
    return ticker;
  }

  @Override
  public Cancellable schedule(Runnable task, long delayNanos) {
    synchronized (lock) {
      Task t = new Task(ticker.nanoTime() + Math.max(0L, delayNanos), nextSeq++, task);
      queue.add(t);
      return t;
    }
  }

  /**
   * Moves time forward by {@code duration}, running every task that falls due on the way, each at
   * its own deadline.
   */
  public void advance(Duration duration) {
    long target = ticker.nanoTime() + duration.toNanos();
    while (true) {
      Task next = pollDueBy(target);
      if (next == null) {
        break;
      }
      long now = ticker.nanoTime();
      if (next.deadline > now) {
        ticker.advanceNanos(next.deadline - now);
      }
      next.body.run();
    }
    long now = ticker.nanoTime();
    if (target > now) {
      ticker.advanceNanos(target - now);
    }
  }

  /** Runs the tasks already due at the current time. */
  public void runDueTasks() {
    advance(Duration.ZERO);
  }

  /** How many tasks are scheduled and not cancelled. */
  public int pendingTasks() {
    synchronized (lock) {
      int n = 0;
      for (Task t : queue) {
        if (!t.cancelled) {
          n++;
        }
      }
      return n;
    }
  }

  /** The deadlines (ticker nanos) of the pending tasks, earliest first: handy in assertions. */
  public List<Long> pendingDeadlines() {
    synchronized (lock) {
      List<Long> out = new ArrayList<>();
      queue.stream().filter(t -> !t.cancelled).sorted().forEach(t -> out.add(t.deadline));
      return out;
    }
  }

  private @Nullable Task pollDueBy(long target) {
    synchronized (lock) {
      while (true) {
        Task head = queue.peek();
        if (head == null || head.deadline > target) {
          return null;
        }
        queue.poll();
        if (!head.cancelled) {
          head.started = true;
          return head;
        }
      }
    }
  }

  private final class Task implements Comparable<Task>, Cancellable {
    final long deadline;
    final long seq;
    final Runnable body;
    // Guarded by lock.
    boolean cancelled;
    boolean started;

    Task(long deadline, long seq, Runnable body) {
      this.deadline = deadline;
      this.seq = seq;
      this.body = body;
    }

    @Override
    public boolean cancel() {
      synchronized (lock) {
        if (cancelled || started) {
          return false;
        }
        cancelled = true;
        queue.remove(this);
        return true;
      }
    }

    @Override
    public int compareTo(Task o) {
      int c = Long.compare(deadline, o.deadline);
      return c != 0 ? c : Long.compare(seq, o.seq);
    }
  }
}
