package dev.llmpool.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.llmpool.ConnectFailedException;
import dev.llmpool.ConnectTimeoutException;
import dev.llmpool.LlmPool;
import dev.llmpool.LlmPoolException;
import dev.llmpool.Timeouts;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * What a call meets when the TCP connect itself fails: refused at once, or no answer at all (a
 * black hole: a firewall dropping packets, a host that is gone). Each ends with the connect phase's
 * exception, naming the host, and saying that nothing was sent.
 */
class ConnectFailuresTest {

  @Test
  void aPortWhereNothingListensFailsAtOnceAsConnectFailed() throws IOException {
    int port;
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      port = s.getLocalPort(); // free, and nothing listens once closed
    }
    // A connect timeout far beyond the test's own: a refused connect must not wait for it.
    try (LlmPool pool =
        LlmPool.builder()
            .baseUrl("http://127.0.0.1:" + port + "/v1")
            .timeouts(Timeouts.builder().connect(Duration.ofMinutes(10)).build())
            .build()) {
      assertThatThrownBy(() -> pool.send(HttpRequest.get("/models").build()))
          .isInstanceOf(ConnectFailedException.class)
          .isNotInstanceOf(ConnectTimeoutException.class)
          .hasMessageContaining("phase=connect")
          .hasMessageContaining("origin=http://127.0.0.1:" + port)
          .hasMessageContaining("refused")
          .satisfies(
              e -> assertThat(((LlmPoolException) e).requestMayHaveBeenProcessed()).isFalse());
      assertThat(pool.stats().open()).isZero();
      assertThat(pool.stats().connectFailures()).isEqualTo(1);
    }
  }

  /**
   * A listener whose accept queue is full: Linux drops further SYNs without answering (with {@code
   * tcp_abort_on_overflow=0}, the default), exactly what a black hole does, on 127.0.0.1 and
   * without privileges.
   */
  @Test
  void aConnectThatGetsNoAnswerIsAConnectTimeout() throws IOException {
    Assumptions.assumeTrue(
        System.getProperty("os.name", "").toLowerCase(Locale.ROOT).contains("linux"),
        "a full accept queue drops SYNs silently on Linux only");
    Assumptions.assumeTrue(
        sysctl("net/ipv4/tcp_abort_on_overflow", "0").equals("0"),
        "tcp_abort_on_overflow=1 resets instead of dropping");
    List<Socket> fillers = new ArrayList<>();
    try (ServerSocket full = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      // Fill the accept queue (never accepted) until a connect goes unanswered.
      boolean unanswered = false;
      for (int i = 0; i < 16 && !unanswered; i++) {
        Socket s = new Socket();
        try {
          s.connect(full.getLocalSocketAddress(), 300);
          fillers.add(s);
        } catch (SocketTimeoutException e) {
          s.close();
          unanswered = true;
        }
      }
      Assumptions.assumeTrue(unanswered, "this kernel answers SYNs on a full accept queue");
      int port = full.getLocalPort();
      assertConnectTimesOut("http://127.0.0.1:" + port);
    } finally {
      for (Socket s : fillers) {
        s.close();
      }
    }
  }

  /**
   * A real black hole: a veth pair into a network namespace that drops what it is sent (it does not
   * forward), so the SYN leaves the host's stack and nothing ever answers. Needs root (or
   * CAP_NET_ADMIN) and the {@code ip} tool; skipped otherwise, or with {@code
   * -Dllmpool.test.netns=false}. The interfaces live only for the test.
   */
  @Test
  void aConnectIntoABlackHoleNetworkIsAConnectTimeout() throws Exception {
    Assumptions.assumeTrue(
        Boolean.parseBoolean(System.getProperty("llmpool.test.netns", "true")),
        "disabled with -Dllmpool.test.netns=false");
    String tag = Long.toHexString(ProcessHandle.current().pid() & 0xffffff);
    String suffix = tag + Integer.toHexString(ThreadLocalRandom.current().nextInt(0x1000));
    String ns = "llmpool-bh-" + suffix;
    String host = "llpa" + suffix;
    String peer = "llpb" + suffix;
    // 198.18.0.0/15 is reserved for benchmarks (RFC 2544): a /29 of it, chosen at random.
    int n = ThreadLocalRandom.current().nextInt(1 << 14);
    String net = "198." + (18 + (n >> 13)) + "." + ((n >> 5) & 0xff) + ".";
    int base = (n & 0x1f) * 8;
    String hostIp = net + (base + 1);
    String holeIp = net + (base + 2);
    Assumptions.assumeTrue(
        ip("netns", "add", ns) == 0, "cannot create a network namespace here (needs root)");
    try {
      Assumptions.assumeTrue(
          ip("link", "add", host, "type", "veth", "peer", "name", peer) == 0
              && ip("link", "set", peer, "netns", ns) == 0
              && ip("netns", "exec", ns, "ip", "link", "set", peer, "up") == 0
              && ip("netns", "exec", ns, "sysctl", "-q", "-w", "net.ipv4.ip_forward=0") == 0
              && ip("addr", "add", hostIp + "/29", "dev", host) == 0
              && ip("link", "set", host, "up") == 0,
          "cannot set up a veth pair here");
      String mac = peerMac(ns, peer);
      Assumptions.assumeTrue(
          mac != null
              && ip("neigh", "replace", holeIp, "lladdr", mac, "dev", host, "nud", "permanent")
                  == 0,
          "cannot pin the black hole's neighbour entry");
      // The namespace takes the frames (its MAC), does not own the address and does not forward:
      // the SYN is dropped there, silently.
      assertConnectTimesOut("http://" + holeIp + ":443");
    } finally {
      ip("link", "del", host);
      ip("netns", "del", ns);
    }
  }

  private static void assertConnectTimesOut(String origin) {
    try (LlmPool pool =
        LlmPool.builder()
            .baseUrl(origin + "/v1")
            .timeouts(Timeouts.builder().connect(Duration.ofMillis(300)).build())
            .build()) {
      assertThatThrownBy(() -> pool.send(HttpRequest.get("/models").build()))
          .isInstanceOf(ConnectTimeoutException.class)
          .hasMessageContaining("phase=connect")
          .hasMessageContaining("origin=" + origin)
          .satisfies(
              e -> {
                ConnectTimeoutException t = (ConnectTimeoutException) e;
                assertThat(t.limit()).isEqualTo(Duration.ofMillis(300));
                assertThat(t.requestMayHaveBeenProcessed()).isFalse();
              });
      assertThat(pool.stats().open()).isZero();
    }
  }

  private static String peerMac(String ns, String peer) throws IOException, InterruptedException {
    Process p =
        new ProcessBuilder("ip", "netns", "exec", ns, "cat", "/sys/class/net/" + peer + "/address")
            .redirectErrorStream(true)
            .start();
    String out;
    try (InputStream in = p.getInputStream()) {
      out = new String(in.readAllBytes(), StandardCharsets.US_ASCII).trim();
    }
    boolean ended = p.waitFor(10, TimeUnit.SECONDS);
    return ended && p.exitValue() == 0 && out.matches("[0-9a-f:]{17}") ? out : null;
  }

  /** Runs {@code ip} with these arguments; its exit code, or -1 when it cannot run. */
  private static int ip(String... args) {
    List<String> cmd = new ArrayList<>();
    cmd.add("ip");
    cmd.addAll(List.of(args));
    try {
      Process p =
          new ProcessBuilder(cmd)
              .redirectErrorStream(true)
              .redirectOutput(ProcessBuilder.Redirect.DISCARD)
              .start();
      if (!p.waitFor(10, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        return -1;
      }
      return p.exitValue();
    } catch (IOException e) {
      return -1;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return -1;
    }
  }

  private static String sysctl(String name, String fallback) {
    try {
      return java.nio.file.Files.readString(java.nio.file.Path.of("/proc/sys/" + name)).trim();
    } catch (IOException e) {
      return fallback;
    }
  }
}
