package dev.llmpool.testkit;

import dev.llmpool.testkit.internal.Futures;
import io.netty.channel.ChannelFuture;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Writes one {@link Plan} to a {@link ResponseSink}: the latency before the headers, the body at
 * its pace, and the fault at its moment. Timers are the event loop's, never a sleeping thread.
 *
 * <p>Threading: confined to the sink's event loop. Every step first checks that the sink is still
 * active, so a client that reset the stream or closed the connection ends the exchange quietly.
 */
final class Exchange {
  /** What {@link Fault#GARBAGE} sends: not a status line, not a frame header anyone accepts. */
  static final byte[] GARBAGE =
      "\u0000\u0001\u0002 this is not HTTP \u00ff\u00fe\r\n\r\n"
          .getBytes(StandardCharsets.ISO_8859_1);

  private final Plan plan;
  private final ResponseSink sink;
  private final List<Plan.Part> parts;
  private final int cut; // parts written before a mid-body fault acts; parts.size() otherwise

  private Exchange(Plan plan, ResponseSink sink) {
    this.plan = plan;
    this.sink = sink;
    List<Plan.Part> p = plan.parts();
    if (plan.fault().midBody() && p.size() == 1) {
      byte[] all = p.get(0).bytes();
      int half = all.length / 2;
      p =
          List.of(
              new Plan.Part(Arrays.copyOfRange(all, 0, half), 0),
              new Plan.Part(Arrays.copyOfRange(all, half, all.length), 0));
    }
    this.parts = p;
    this.cut = plan.fault().midBody() ? Math.max(1, p.size() / 2) : p.size();
  }

  /** Starts writing the plan; returns at once. */
  static void start(Plan plan, ResponseSink sink) {
    Exchange e = new Exchange(plan, sink);
    if (plan.headersDelayNanos() > 0) {
      Futures.ignore(
          sink.executor().schedule(e::begin, plan.headersDelayNanos(), TimeUnit.NANOSECONDS));
    } else {
      e.begin();
    }
  }

  private void begin() {
    if (!sink.active()) {
      return;
    }
    switch (plan.fault()) {
      case GARBAGE -> {
        sink.garbage();
        return;
      }
      case DISCONNECT_AFTER_REQUEST -> {
        sink.closeConnection();
        return;
      }
      case REFUSE_STREAM -> {
        sink.refuseStream();
        return;
      }
      default -> {}
    }
    sink.headers(plan);
    sink.flush();
    if (plan.fault() == Fault.STALL_AFTER_HEADERS) {
      return; // and nothing more, until the client gives up or the server closes
    }
    send(0, true);
  }

  /** Writes parts from {@code i}; {@code due} means part {@code i}'s delay has passed. */
  private void send(int i, boolean due) {
    ChannelFuture lastWrite = null;
    while (i < cut) {
      if (!sink.active()) {
        return;
      }
      Plan.Part part = parts.get(i);
      if (!due && part.delayNanos() > 0) {
        if (lastWrite != null) {
          sink.flush();
        }
        int next = i;
        Futures.ignore(
            sink.executor()
                .schedule(() -> send(next, true), part.delayNanos(), TimeUnit.NANOSECONDS));
        return;
      }
      due = false;
      boolean last = i == parts.size() - 1;
      lastWrite = sink.data(part.bytes(), last);
      i++;
    }
    sink.flush();
    if (lastWrite == null) {
      lastWrite = sink.data(new byte[0], true); // an empty body
      sink.flush();
    }
    lastWrite.addListener(
        f -> {
          // The sinks' actions are safe on a stream or connection the client already closed.
          switch (plan.fault()) {
            case TRUNCATE_BODY -> sink.truncate();
            case RESET_STREAM_MID_BODY -> sink.resetStream();
            case CLOSE_CONNECTION_MID_BODY -> sink.closeConnection();
            case RESET_CONNECTION_MID_BODY -> sink.resetConnection();
            default -> sink.finish(plan.fault());
          }
        });
  }
}
