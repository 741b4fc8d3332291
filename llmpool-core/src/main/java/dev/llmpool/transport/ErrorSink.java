package dev.llmpool.transport;

import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The last handler of every connection's pipeline: an exception that no protocol handler took (a
 * reset during the TLS handshake, say) closes the connection and is logged at debug level, where
 * Netty would warn that it reached the end of the pipeline. The failure itself reaches the caller
 * through the connect attempt or the exchange, with its phase and host.
 */
@ChannelHandler.Sharable
final class ErrorSink extends ChannelInboundHandlerAdapter {
  static final String NAME = "llmpool-errors";
  static final ErrorSink INSTANCE = new ErrorSink();
  private static final Logger log = LoggerFactory.getLogger(ErrorSink.class);

  private ErrorSink() {}

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    log.debug("{}: {}", ctx.channel(), cause.toString());
    NettyConnection.closeChannel(ctx.channel());
  }
}
