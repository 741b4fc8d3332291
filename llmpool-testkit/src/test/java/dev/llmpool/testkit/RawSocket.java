package dev.llmpool.testkit;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;

/**
 * A plain socket for what no HTTP client will do: garbage, half a request, a read that must see EOF
 * or a reset. Every read is bounded by a socket timeout, so nothing hangs.
 */
final class RawSocket implements AutoCloseable {
  final Socket socket;

  RawSocket(int port) throws IOException {
    socket = new Socket("127.0.0.1", port);
    socket.setSoTimeout(20_000);
    socket.setTcpNoDelay(true);
  }

  void write(String s) throws IOException {
    write(s.getBytes(StandardCharsets.ISO_8859_1));
  }

  void write(byte[] b) throws IOException {
    socket.getOutputStream().write(b);
    socket.getOutputStream().flush();
  }

  /** Reads until EOF (the server closed); throws on a reset or after 20 s. */
  String readAll() throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    socket.getInputStream().transferTo(out);
    return out.toString(StandardCharsets.ISO_8859_1);
  }

  /** Reads until the text contains {@code marker} (or EOF). */
  String readUntil(String marker) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    InputStream in = socket.getInputStream();
    byte[] buf = new byte[8192];
    while (!out.toString(StandardCharsets.ISO_8859_1).contains(marker)) {
      int n = in.read(buf);
      if (n < 0) {
        break;
      }
      out.write(buf, 0, n);
    }
    return out.toString(StandardCharsets.ISO_8859_1);
  }

  /** Whether any byte arrives within {@code millis} (false on a quiet, open connection). */
  boolean anyByteWithin(int millis) throws IOException {
    socket.setSoTimeout(millis);
    try {
      return socket.getInputStream().read() >= 0;
    } catch (SocketTimeoutException e) {
      return false;
    } finally {
      socket.setSoTimeout(20_000);
    }
  }

  @Override
  public void close() throws IOException {
    socket.close();
  }
}
