package dev.llmpool.interop;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Assumptions;

/**
 * nginx from the distribution, started by the suite on free ports of 127.0.0.1 (or ::1) with a
 * configuration written per scenario: one server block listening for HTTP/1.1, h2c (prior
 * knowledge), TLS 1.3 with ALPN h2/http/1.1, and TLS 1.3 offering only http/1.1. Locations:
 *
 * <ul>
 *   <li>{@code /hello.txt}, {@code /big.bin} (16 MiB of random bytes): static files
 *   <li>{@code = /early}: {@code return 200} (answers without reading a request body)
 *   <li>{@code = /small-limit}: {@code client_max_body_size 1k} (413 for a larger body)
 *   <li>{@code = /204}: {@code return 204}
 *   <li>{@code /up/...}: proxied (HTTP/1.1, unbuffered) to a node upstream ({@code h1server.js})
 * </ul>
 *
 * The access log records, per request: the connection's serial number, its request count on that
 * connection, the call id header, status, method, URI, protocol and Host.
 */
final class Nginx implements AutoCloseable {
  static final int BIG_SIZE = 16 * 1024 * 1024;
  private static final AtomicInteger SEQ = new AtomicInteger();
  private static @Nullable String bigSha256;

  /** Scenario knobs. */
  static final class Config {
    String keepaliveTimeout = "60s";
    int keepaliveRequests = 1000;
    int maxConcurrentStreams = 128;
    int upstreamPort;
    String host = "127.0.0.1";
    Path cert = Certs.SERVER;
    Path key = Certs.SERVER_KEY;
    String extra = "";

    Config keepaliveTimeout(String v) {
      keepaliveTimeout = v;
      return this;
    }

    Config keepaliveRequests(int v) {
      keepaliveRequests = v;
      return this;
    }

    Config maxConcurrentStreams(int v) {
      maxConcurrentStreams = v;
      return this;
    }

    Config upstream(NodeServer upstream) {
      upstreamPort = upstream.port;
      return this;
    }

    Config host(String v) {
      host = v;
      return this;
    }

    Config certificate(Path certPem, Path keyPem) {
      cert = certPem;
      key = keyPem;
      return this;
    }

    Config extra(String v) {
      extra = v;
      return this;
    }
  }

  /** One access log line. */
  record Entry(
      long connection,
      int connectionRequest,
      @Nullable String callId,
      int status,
      String method,
      String uri,
      String protocol,
      String host) {}

  final Path dir;
  final Config config;
  // Chosen free just before nginx binds them; re-chosen if another socket took one meanwhile (the
  // suite's own clients use ephemeral ports too). Written only in the constructor.
  int h1Port;
  int h2cPort;
  int tlsPort;
  int tlsHttp1Port;
  private final Path conf;
  private final String binary;
  private final Proc master;

  private Nginx(String binary, Path dir, Config config) throws IOException {
    this.binary = binary;
    this.dir = dir;
    this.config = config;
    InetAddress addr = InetAddress.getByName(config.host);
    this.conf = dir.resolve("nginx.conf");
    Proc started = null;
    for (int attempt = 1; started == null; attempt++) {
      this.h1Port = freePort(addr);
      this.h2cPort = freePort(addr);
      this.tlsPort = freePort(addr);
      this.tlsHttp1Port = freePort(addr);
      Files.writeString(conf, render(), StandardCharsets.UTF_8);
      try {
        started = launch();
      } catch (AssertionError e) {
        Path log = dir.resolve("error.log");
        boolean portTaken =
            Files.exists(log)
                && Files.readString(log, StandardCharsets.UTF_8).contains("Address already in use");
        if (!portTaken || attempt == 3) {
          throw e;
        }
      }
    }
    this.master = started;
  }

  /** Starts nginx with {@code config}; skips the calling test when nginx is not available. */
  static Nginx start(Config config) {
    String bin = binary();
    Certs.make();
    try {
      Path dir = Files.createTempDirectory(Interop.WORK, "nginx-" + SEQ.incrementAndGet() + "-");
      for (String d : List.of("www", "tmp")) {
        Files.createDirectories(dir.resolve(d));
      }
      Files.writeString(dir.resolve("www/hello.txt"), "hello from nginx\n");
      writeBigFile(dir.resolve("www/big.bin"));
      return new Nginx(bin, dir, config);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** SHA-256 of {@code /big.bin}. */
  static synchronized String bigSha256() {
    return java.util.Objects.requireNonNull(bigSha256);
  }

  private static synchronized void writeBigFile(Path p) throws IOException {
    Path shared = Interop.WORK.resolve("big.bin");
    if (!Files.exists(shared)) {
      byte[] b = new byte[BIG_SIZE];
      new Random(42).nextBytes(b);
      Files.write(shared, b);
    }
    if (bigSha256 == null) {
      bigSha256 = sha256(Files.readAllBytes(shared));
    }
    Files.deleteIfExists(p);
    Files.createLink(p, shared);
  }

  static String sha256(byte[] b) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
    } catch (NoSuchAlgorithmException e) {
      throw new AssertionError(e);
    }
  }

  private Proc launch() {
    Proc p =
        Proc.start(
            "nginx",
            List.of(binary, "-p", dir.toString(), "-c", conf.toString(), "-g", "daemon off;"),
            dir.resolve("nginx.stderr"));
    for (int port : new int[] {h1Port, h2cPort, tlsPort, tlsHttp1Port}) {
      Interop.until(
          "nginx listening on " + config.host + ":" + port + " (see " + dir + "/error.log)",
          Duration.ofSeconds(15),
          () -> p.isAlive() && accepts(port) || !p.isAlive());
      if (!p.isAlive()) {
        throw new AssertionError("nginx exited at start; see " + dir.resolve("error.log"));
      }
    }
    return p;
  }

  private boolean accepts(int port) {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress(config.host, port), 500);
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  private static int freePort(InetAddress addr) throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, addr)) {
      return s.getLocalPort();
    }
  }

  /** The base URL of {@code proto}'s listener. */
  String baseUrl(Interop.Proto proto) {
    String h = config.host.indexOf(':') >= 0 ? "[" + config.host + "]" : config.host;
    int port = proto.tls ? tlsPort : proto.http2 ? h2cPort : h1Port;
    return proto.scheme() + "://" + h + ":" + port;
  }

  /** The TLS listener that offers only http/1.1 in ALPN. */
  String tlsHttp1BaseUrl() {
    String h = config.host.indexOf(':') >= 0 ? "[" + config.host + "]" : config.host;
    return "https://" + h + ":" + tlsHttp1Port;
  }

  /** {@code "http://127.0.0.1:port"} as it appears in llmpool's messages. */
  String origin(Interop.Proto proto) {
    return baseUrl(proto);
  }

  private String render() {
    boolean root = "root".equals(System.getProperty("user.name"));
    String h = config.host.indexOf(':') >= 0 ? "[" + config.host + "]" : config.host;
    String upstream =
        config.upstreamPort == 0
            ? ""
            : """
                upstream node { server 127.0.0.1:%d; keepalive 32; }
            """
                .formatted(config.upstreamPort);
    String proxied =
        config.upstreamPort == 0
            ? ""
            : """
                    location /up/ {
                      proxy_pass http://node/;
                      proxy_http_version 1.1;
                      proxy_set_header Connection "";
                      proxy_buffering off;
                      proxy_request_buffering on;
                      proxy_read_timeout 60s;
                    }
            """;
    return """
        %s
        worker_processes 1;
        error_log %s/error.log info;
        pid %s/nginx.pid;
        events { worker_connections 1024; }
        http {
          log_format interop '$connection $connection_requests "$http_x_call_id" $status $request_method $uri $server_protocol "$http_host"';
          access_log %s/access.log interop;
          client_body_temp_path %s/tmp/body;
          proxy_temp_path %s/tmp/proxy;
          fastcgi_temp_path %s/tmp/fastcgi;
          uwsgi_temp_path %s/tmp/uwsgi;
          scgi_temp_path %s/tmp/scgi;
          default_type application/octet-stream;
          keepalive_timeout %s;
          keepalive_requests %d;
          http2_max_concurrent_streams %d;
          client_max_body_size 0;
          %s
          server {
            listen %s:%d;
            listen %s:%d http2;
            listen %s:%d ssl http2;
            listen %s:%d ssl;
            ssl_certificate %s;
            ssl_certificate_key %s;
            ssl_protocols TLSv1.3;
            root %s/www;
            location = /early { return 200 "early\\n"; }
            location = /small-limit { client_max_body_size 1k; return 200 "unreachable\\n"; }
            location = /204 { return 204; }
            %s
            %s
          }
        }
        """
        .formatted(
            root ? "user root;" : "",
            dir,
            dir,
            dir,
            dir,
            dir,
            dir,
            dir,
            dir,
            config.keepaliveTimeout,
            config.keepaliveRequests,
            config.maxConcurrentStreams,
            upstream,
            h,
            h1Port,
            h,
            h2cPort,
            h,
            tlsPort,
            h,
            tlsHttp1Port,
            config.cert,
            config.key,
            dir,
            proxied,
            config.extra);
  }

  /** Graceful reload (SIGHUP through {@code nginx -s reload}): new workers, old ones drain. */
  void reload() {
    signal("reload");
  }

  /** Fast shutdown ({@code nginx -s stop}): connections are closed at once. */
  void stopFast() {
    signal("stop");
    if (!master.awaitExit(Duration.ofSeconds(10))) {
      throw new AssertionError("nginx did not stop");
    }
  }

  private void signal(String what) {
    try {
      Process p =
          new ProcessBuilder(binary, "-p", dir.toString(), "-c", conf.toString(), "-s", what)
              .redirectErrorStream(true)
              .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("signal.log").toFile()))
              .start();
      if (!p.waitFor(10, TimeUnit.SECONDS) || p.exitValue() != 0) {
        throw new AssertionError("nginx -s " + what + " failed; see " + dir.resolve("signal.log"));
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  /** The access log so far. */
  List<Entry> log() {
    Path p = dir.resolve("access.log");
    List<Entry> out = new ArrayList<>();
    if (!Files.exists(p)) {
      return out;
    }
    try {
      for (String line : Files.readAllLines(p, StandardCharsets.UTF_8)) {
        // conn req "id" status method uri proto "host"
        String[] q = line.split("\"", -1);
        String[] a = q[0].trim().split(" ");
        String[] b = q[2].trim().split(" ");
        String id = q[1].equals("-") ? null : q[1];
        out.add(
            new Entry(
                Long.parseLong(a[0]),
                Integer.parseInt(a[1]),
                id,
                Integer.parseInt(b[0]),
                b[1],
                b[2],
                b[3],
                q[3]));
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out;
  }

  /**
   * The log once it holds at least {@code n} entries for {@code callIds} (nginx logs at the end).
   */
  List<Entry> logOf(List<String> callIds, int n) {
    Interop.until(
        n + " access log entries for the calls",
        Duration.ofSeconds(10),
        () -> log().stream().filter(e -> callIds.contains(e.callId())).count() >= n);
    return log().stream().filter(e -> callIds.contains(e.callId())).toList();
  }

  /** Distinct connections that carried {@code entries}. */
  static long connections(List<Entry> entries) {
    return entries.stream().mapToLong(Entry::connection).distinct().count();
  }

  /** The nginx binary; installs nginx-light once when missing and possible, else skips. */
  static synchronized String binary() {
    for (String p :
        List.of("/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/local/nginx/sbin/nginx")) {
      if (Files.isExecutable(Path.of(p))) {
        return p;
      }
    }
    if (!installTried) {
      installTried = true;
      tryInstall();
      if (Files.isExecutable(Path.of("/usr/sbin/nginx"))) {
        return "/usr/sbin/nginx";
      }
    }
    Assumptions.abort(
        "nginx is not installed and could not be installed here; run llmpool-interop/setup.sh"
            + " (apt-get install -y nginx-light) or install nginx: skipped");
    throw new AssertionError("unreachable");
  }

  private static boolean installTried;

  private static void tryInstall() {
    if (!"root".equals(System.getProperty("user.name"))
        || !Files.isExecutable(Path.of("/usr/bin/apt-get"))) {
      return;
    }
    Path log = Interop.WORK.resolve("apt-get.log");
    try {
      for (List<String> cmd :
          List.of(
              List.of("apt-get", "update"),
              List.of("apt-get", "install", "-y", "--no-install-recommends", "nginx-light"))) {
        Process p =
            new ProcessBuilder(cmd)
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                .start();
        if (!p.waitFor(50, TimeUnit.SECONDS)) {
          p.destroy();
          return;
        }
      }
    } catch (IOException e) {
      // not possible here: skip
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public void close() {
    if (master.isAlive()) {
      master.terminate(); // SIGTERM: nginx's fast shutdown
    }
  }
}
