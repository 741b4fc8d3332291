package dev.llmpool.transport;

import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.IdentityCipherSuiteFilter;
import io.netty.handler.ssl.JdkSslContext;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import java.nio.file.Path;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import javax.net.ssl.TrustManager;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The client TLS contexts of a pool: one offering ALPN {@code h2, http/1.1}, one offering only
 * {@code http/1.1} (HTTP/2 off, or forced off for a host). Certificates are checked against the
 * JDK's default trust store unless the user gave a PEM file, a trust manager or a whole {@link
 * SSLContext}; host names are always verified. There is deliberately no way to trust everything.
 *
 * <p>OpenSSL (BoringSSL through netty-tcnative) is used when it loads, the JDK's TLS otherwise; a
 * user-supplied {@link SSLContext} is always the JDK's. Immutable and thread-safe.
 */
final class TlsContexts {
  private static final Logger log = LoggerFactory.getLogger(TlsContexts.class);

  private final SslContext h2;
  private final SslContext h1;
  private final String providerName;
  private final boolean userContext;

  TlsContexts(TransportSettings s) {
    try {
      SSLContext user = s.sslContext;
      if (user != null) {
        userContext = true;
        providerName = "JDK (" + user.getProtocol() + ", user SSLContext)";
        h2 = jdkContext(user, alpn(true));
        h1 = jdkContext(user, alpn(false));
      } else {
        userContext = false;
        boolean openSsl = s.preferOpenSsl && OpenSsl.isAvailable();
        SslProvider provider = openSsl ? SslProvider.OPENSSL : SslProvider.JDK;
        providerName = openSsl ? "OpenSSL (" + OpenSsl.versionString() + ")" : "JDK";
        h2 = build(provider, s.trustPem, s.trustManager, true);
        h1 = build(provider, s.trustPem, s.trustManager, false);
      }
    } catch (SSLException e) {
      throw new IllegalArgumentException("cannot set up TLS: " + e.getMessage(), e);
    }
    log.debug("TLS provider: {}", providerName);
  }

  private static SslContext build(
      SslProvider provider, @Nullable Path pem, @Nullable TrustManager tm, boolean h2)
      throws SSLException {
    SslContextBuilder b =
        SslContextBuilder.forClient()
            .sslProvider(provider)
            .endpointIdentificationAlgorithm("HTTPS")
            .applicationProtocolConfig(alpn(h2));
    if (pem != null) {
      b.trustManager(pem.toFile());
    } else if (tm != null) {
      b.trustManager(tm);
    }
    return b.build();
  }

  private static SslContext jdkContext(SSLContext ctx, ApplicationProtocolConfig apn) {
    return new JdkSslContext(
        ctx, true, null, IdentityCipherSuiteFilter.INSTANCE, apn, ClientAuth.NONE, null, false);
  }

  private static ApplicationProtocolConfig alpn(boolean h2) {
    return h2
        ? new ApplicationProtocolConfig(
            ApplicationProtocolConfig.Protocol.ALPN,
            ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
            ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT,
            ApplicationProtocolNames.HTTP_2,
            ApplicationProtocolNames.HTTP_1_1)
        : new ApplicationProtocolConfig(
            ApplicationProtocolConfig.Protocol.ALPN,
            ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
            ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT,
            ApplicationProtocolNames.HTTP_1_1);
  }

  SslContext context(boolean offerH2) {
    return offerH2 ? h2 : h1;
  }

  /** True when engines need host name verification set by hand (a user's SSLContext). */
  boolean verifyHostOnEngine() {
    return userContext;
  }

  String providerName() {
    return providerName;
  }
}
