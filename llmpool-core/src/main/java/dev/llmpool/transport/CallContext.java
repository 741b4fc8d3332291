package dev.llmpool.transport;

import dev.llmpool.EventListener;

/**
 * What the HTTP layer passes to the pool as the acquire's cause, so that connection set-up events
 * (dns, connect, tls) go to the call that caused the connection to be opened.
 */
public interface CallContext extends EventListener.CallInfo {
  /** The listener for this call's events; {@link EventListener#NONE} when nobody listens. */
  EventListener listener();
}
