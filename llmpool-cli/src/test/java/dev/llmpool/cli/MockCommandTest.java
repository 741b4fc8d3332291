package dev.llmpool.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class MockCommandTest {
  private static final String CHAT =
      "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";

  /** Runs {@code llmpool mock ARGS} on a thread; the caller stops it through {@link #stop}. */
  private static final class Running {
    final MockCommand command;
    final StringWriter out = new StringWriter();
    final StringWriter err = new StringWriter();
    final CompletableFuture<Integer> exit = new CompletableFuture<>();

    Running(String... args) {
      CommandLine cl = Main.newCommandLine();
      command = (MockCommand) cl.getSubcommands().get("mock").getCommand();
      cl.setOut(new PrintWriter(out, true));
      cl.setErr(new PrintWriter(err, true));
      String[] all = new String[args.length + 1];
      all[0] = "mock";
      System.arraycopy(args, 0, all, 1, args.length);
      Thread t = new Thread(() -> exit.complete(cl.execute(all)), "mock-command-test");
      t.setDaemon(true);
      t.start();
    }

    URI url() {
      return command.started.orTimeout(30, TimeUnit.SECONDS).join();
    }

    int stop() {
      command.stop.countDown();
      return exit.orTimeout(30, TimeUnit.SECONDS).join();
    }
  }

  private static HttpResponse<String> post(HttpClient c, URI base) throws Exception {
    return c.send(
        HttpRequest.newBuilder(URI.create(base + "/v1/chat/completions"))
            .header("authorization", "Bearer x")
            .timeout(Duration.ofSeconds(20))
            .POST(HttpRequest.BodyPublishers.ofString(CHAT))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void servesUntilStoppedThenSaysWhatItServed() throws Exception {
    Running r = new Running("--port", "0");
    URI url = r.url();
    assertThat(url.toString()).startsWith("http://127.0.0.1:");
    HttpClient c = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    assertThat(post(c, url).body()).contains("chat.completion");
    assertThat(r.stop()).isZero();
    assertThat(r.out.toString())
        .contains("listening on " + url)
        .contains("/v1/chat/completions")
        .contains("Try: curl")
        .contains("stopped after 1 requests on 1 connections");
  }

  @Test
  void tlsWritesATrustableCertificate(@TempDir Path dir) throws Exception {
    Path pem = dir.resolve("cert.pem");
    Running r = new Running("--port", "0", "--tls", "--cert-out", pem.toString());
    URI url = r.url();
    assertThat(url.getScheme()).isEqualTo("https");
    X509Certificate cert;
    try (var in = Files.newInputStream(pem)) {
      cert = (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
    }
    KeyStore ks = KeyStore.getInstance("PKCS12");
    ks.load(null, null);
    ks.setCertificateEntry("mock", cert);
    TrustManagerFactory tmf =
        TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(ks);
    SSLContext ssl = SSLContext.getInstance("TLS");
    ssl.init(null, tmf.getTrustManagers(), null);
    HttpClient c = HttpClient.newBuilder().sslContext(ssl).build(); // verification stays on
    HttpResponse<String> resp = post(c, url);
    assertThat(resp.version()).isEqualTo(HttpClient.Version.HTTP_2);
    assertThat(r.stop()).isZero();
    assertThat(r.out.toString()).contains("certificate: " + pem.toAbsolutePath());
  }

  @Test
  void rttPutsTheServerBehindTheLatencyProxy() throws Exception {
    Running r = new Running("--port", "0", "--rtt", "20ms", "--latency", "10ms", "--http1-only");
    URI url = r.url();
    HttpClient c = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    long t0 = System.nanoTime();
    assertThat(post(c, url).statusCode()).isEqualTo(200);
    // handshake RTT + request RTT + latency, as a lower bound
    assertThat(Duration.ofNanos(System.nanoTime() - t0))
        .isGreaterThanOrEqualTo(Duration.ofMillis(50));
    assertThat(r.stop()).isZero();
    assertThat(r.out.toString()).contains("RTT 20ms through a proxy");
  }

  @Test
  void malformedDurationsAreUsageErrors() {
    for (String[] args :
        new String[][] {
          {"--latency", "5x"}, {"--rtt", "1.5s"}, {"--close-idle-after", "-1s"}, {"--latency", "ms"}
        }) {
      Running r = new Running(args);
      assertThat(r.exit.orTimeout(30, TimeUnit.SECONDS).join())
          .as(String.join(" ", args))
          .isEqualTo(2);
      assertThat(r.err.toString())
          .contains("Invalid value for option '" + args[0] + "'")
          .contains("not a duration");
    }
  }

  @Test
  void certOutWithoutTlsAndBadNumbersAreUsageErrors() {
    Running a = new Running("--cert-out", "x.pem");
    assertThat(a.exit.orTimeout(30, TimeUnit.SECONDS).join()).isEqualTo(2);
    assertThat(a.err.toString()).contains("--cert-out needs --tls");
    Running b = new Running("--max-concurrent-streams", "0");
    assertThat(b.exit.orTimeout(30, TimeUnit.SECONDS).join()).isEqualTo(2);
    assertThat(b.err.toString()).contains("maxConcurrentStreams");
  }

  @Test
  void aBusyPortFailsWithExitOneAndOneLine() throws Exception {
    try (java.net.ServerSocket taken =
        new java.net.ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.1"))) {
      Running r = new Running("--port", Integer.toString(taken.getLocalPort()));
      assertThat(r.exit.orTimeout(30, TimeUnit.SECONDS).join()).isEqualTo(1);
      assertThat(r.err.toString())
          .startsWith("llmpool: cannot listen on 127.0.0.1:" + taken.getLocalPort());
    }
  }

  @Test
  void durationConverterIsStrict() {
    assertThat(DurationConverter.parse("200ms")).isEqualTo(Duration.ofMillis(200));
    assertThat(DurationConverter.parse("5s")).isEqualTo(Duration.ofSeconds(5));
    assertThat(DurationConverter.parse("1m")).isEqualTo(Duration.ofMinutes(1));
    assertThat(DurationConverter.parse("2h")).isEqualTo(Duration.ofHours(2));
  }
}
