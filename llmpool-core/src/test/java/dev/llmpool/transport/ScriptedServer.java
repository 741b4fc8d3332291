package dev.llmpool.transport;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A plain-socket HTTP/1.1 server for transport tests, where each accepted connection runs a script
 * written in the test: read a request, write exact bytes (well-formed or not), close. It can do
 * what a well-behaved server never would. Blocking I/O on one platform thread per connection; every
 * socket is closed by {@link #close()}.
 */
final class ScriptedServer implements AutoCloseable {

  /** What a script does with one connection. */
  @FunctionalInterface
  interface Script {
    void run(Peer peer) throws Exception;
  }

  /** One accepted connection, from the server's side. */
  static final class Peer {
    final Socket socket;
    final int index;
    private final InputStream in;
    private final OutputStream out;

    Peer(Socket socket, int index) throws IOException {
      this.socket = socket;
      this.index = index;
      this.in = socket.getInputStream();
      this.out = socket.getOutputStream();
    }

    /** Reads one request (head and a Content-Length body); null when the client closed. */
    Request readRequest() throws IOException {
      ByteArrayOutputStream head = new ByteArrayOutputStream();
      int state = 0;
      while (state < 4) {
        int b = in.read();
        if (b < 0) {
          return null;
        }
        head.write(b);
        state =
            switch (state) {
              case 0, 2 -> b == '\r' ? state + 1 : 0;
              case 1, 3 -> b == '\n' ? state + 1 : (b == '\r' ? 1 : 0);
              default -> 0;
            };
      }
      String h = head.toString(StandardCharsets.ISO_8859_1);
      int len = 0;
      for (String line : h.split("\r\n")) {
        if (line.toLowerCase(Locale.ROOT).startsWith("content-length:")) {
          len = Integer.parseInt(line.substring(15).trim());
        }
      }
      byte[] body = in.readNBytes(len);
      return new Request(h, new String(body, StandardCharsets.UTF_8));
    }

    /** Reads the request head only, leaving any body unread. */
    String readHead() throws IOException {
      ByteArrayOutputStream head = new ByteArrayOutputStream();
      int state = 0;
      while (state < 4) {
        int b = in.read();
        if (b < 0) {
          return null;
        }
        head.write(b);
        state =
            (b == '\r' && (state == 0 || state == 2)) || (b == '\n' && (state == 1 || state == 3))
                ? state + 1
                : 0;
      }
      return head.toString(StandardCharsets.ISO_8859_1);
    }

    void write(String s) throws IOException {
      out.write(s.getBytes(StandardCharsets.ISO_8859_1));
      out.flush();
    }

    void write(byte[] b) throws IOException {
      out.write(b);
      out.flush();
    }

    /** A 200 response with a body and Content-Length. */
    void respond(String body) throws IOException {
      respond(200, body, "");
    }

    void respond(int status, String body, String extraHeaders) throws IOException {
      byte[] b = body.getBytes(StandardCharsets.UTF_8);
      write(
          "HTTP/1.1 "
              + status
              + " X\r\nContent-Length: "
              + b.length
              + "\r\n"
              + extraHeaders
              + "\r\n");
      write(b);
    }

    /** Waits until the client closes the connection (reads and drops anything sent). */
    void awaitClientClose() throws IOException {
      try {
        while (in.read() >= 0) {
          // drain
        }
      } catch (SocketException e) {
        // reset by the client: closed too
      }
    }

    void close() throws IOException {
      socket.close();
    }

    /** Closes with a TCP reset instead of a FIN. */
    void reset() throws IOException {
      socket.setSoLinger(true, 0);
      socket.close();
    }
  }

  /** A request as the server read it. */
  record Request(String head, String body) {
    String requestLine() {
      return head.substring(0, head.indexOf('\r'));
    }
  }

  private final ServerSocket server;
  private final Thread acceptor;
  private final List<Socket> sockets = new CopyOnWriteArrayList<>();
  private final List<Throwable> errors = new CopyOnWriteArrayList<>();
  private final AtomicInteger accepted = new AtomicInteger();
  private volatile boolean closed;

  /** Starts a server that runs {@code script} on every connection. */
  ScriptedServer(Script script) throws IOException {
    server = new ServerSocket();
    server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
    acceptor =
        new Thread(
            () -> {
              while (!closed) {
                Socket s;
                try {
                  s = server.accept();
                } catch (IOException e) {
                  return;
                }
                sockets.add(s);
                int index = accepted.getAndIncrement();
                Thread t =
                    new Thread(
                        () -> {
                          try {
                            script.run(new Peer(s, index));
                          } catch (SocketException e) {
                            // the client went away: part of many scripts
                          } catch (Throwable e) {
                            if (!closed) {
                              errors.add(e);
                            }
                          }
                        },
                        "scripted-server-conn-" + index);
                t.setDaemon(true);
                t.start();
              }
            },
            "scripted-server-accept");
    acceptor.setDaemon(true);
    acceptor.start();
  }

  int port() {
    return server.getLocalPort();
  }

  /** Connections accepted so far. */
  int accepted() {
    return accepted.get();
  }

  /** Errors thrown by scripts (a broken script must fail the test). */
  List<Throwable> errors() {
    return errors;
  }

  @Override
  public void close() {
    closed = true;
    try {
      server.close();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    for (Socket s : sockets) {
      try {
        s.close();
      } catch (IOException e) {
        // closing anyway
      }
    }
  }
}
