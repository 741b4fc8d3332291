package dev.llmpool.bench.peers;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;

/**
 * The nginx the harness talks to and what it sends: where each protocol listens on {@code host},
 * the certificate to trust (the script's self-signed one, trusted properly: it is the only entry in
 * the trust store, and host names are verified), the bearer token and the request bodies.
 *
 * @param memoryTlsPorts TLS (h2) ports from {@code memoryTlsBasePort} on, one origin each, so the
 *     memory probe can hold many idle h2 connections
 */
public record Target(
    String host,
    int h1Port,
    int tlsPort,
    int h2cPort,
    Path caCertificate,
    String bearerToken,
    int memoryTlsBasePort,
    int memoryTlsPorts) {

  /** The name of the header nginx logs to attribute requests and connections to a cell. */
  public static final String CELL_HEADER = "x-bench-cell";

  /** The OpenAI-compatible path of the non-streaming answer. */
  public String chatPath() {
    return "/v1/chat/completions";
  }

  /** Path of the 500-token SSE answer sent back to back as fast as the socket takes it. */
  public String burstStreamPath() {
    return "/v1/burst/chat/completions";
  }

  /** Path of the 500-token SSE answer with one flushed write per token and a gap between them. */
  public String pacedStreamPath() {
    return "/v1/paced/chat/completions";
  }

  /** The same answer as {@link #chatPath()}, sent 1 s after the request (the memory probe's). */
  public String slowPath() {
    return "/v1/slow/chat/completions";
  }

  /** The ~1 KB chat-completions request body. */
  public byte[] chatBody() {
    return Payloads.chatRequest(false);
  }

  /** The same request asking for a stream. */
  public byte[] streamBody() {
    return Payloads.chatRequest(true);
  }

  /** The {@code authorization} header's value. */
  public String authorization() {
    return "Bearer " + bearerToken;
  }

  /** The base URI of {@code protocol}'s listener. */
  public URI uri(Protocol protocol, String path) {
    return switch (protocol) {
      case H1 -> URI.create("http://" + host + ":" + h1Port + path);
      case H2 -> URI.create("https://" + host + ":" + tlsPort + path);
      case H2C -> URI.create("http://" + host + ":" + h2cPort + path);
    };
  }

  /** A TLS origin of the memory probe, {@code 0 <= index < memoryTlsPorts}. */
  public URI memoryTlsUri(int index, String path) {
    if (index < 0 || index >= memoryTlsPorts) {
      throw new IllegalArgumentException("no memory origin " + index);
    }
    return URI.create("https://" + host + ":" + (memoryTlsBasePort + index) + path);
  }

  /** Trust managers that trust exactly the script's certificate. */
  public TrustManagerFactory trustManagerFactory() throws IOException, GeneralSecurityException {
    KeyStore store = KeyStore.getInstance("PKCS12");
    store.load(null, null);
    CertificateFactory x509 = CertificateFactory.getInstance("X.509");
    int i = 0;
    try (InputStream in = Files.newInputStream(caCertificate)) {
      for (Certificate c : x509.generateCertificates(in)) {
        store.setCertificateEntry("bench-" + i++, c);
      }
    }
    if (i == 0) {
      throw new GeneralSecurityException("no certificate in " + caCertificate);
    }
    TrustManagerFactory tmf =
        TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(store);
    return tmf;
  }

  /** The X.509 trust manager of {@link #trustManagerFactory()} (OkHttp wants it separately). */
  public X509TrustManager trustManager() throws IOException, GeneralSecurityException {
    for (TrustManager tm : trustManagerFactory().getTrustManagers()) {
      if (tm instanceof X509TrustManager x) {
        return x;
      }
    }
    throw new GeneralSecurityException("no X509TrustManager");
  }

  /** A JDK TLS context (TLS 1.3 and 1.2 enabled) trusting the script's certificate. */
  public SSLContext sslContext() throws IOException, GeneralSecurityException {
    SSLContext ctx = SSLContext.getInstance("TLS");
    ctx.init(null, trustManagerFactory().getTrustManagers(), null);
    return ctx;
  }
}
