'use strict';
// An HTTP/2 server on node's own http2 module (nghttp2): an HTTP/2 implementation llmpool did not
// write, driven into the corners of RFC 9113 by the request path. h2c (prior knowledge) or TLS with
// ALPN h2.
//
// Usage: node h2server.js '<json config>'  -> prints "READY <port> <controlPort>" on stdout.
// config: {host, tls: bool, cert, key, settings: {...}, raiseAfterMs, raiseTo, raw: "garbage-at-start" |
//          "garbage-after-headers"}
// Control (plain HTTP on controlPort): GET /stats -> JSON.
const http2 = require('http2');
const http = require('http');
const net = require('net');
const fs = require('fs');
const crypto = require('crypto');
const C = http2.constants;

const cfg = JSON.parse(process.argv[2] || '{}');
const stats = {
  sessions: 0,          // connections that became HTTP/2 sessions
  streams: [],          // every stream received: {session, stream, path, callId, outcome}
  maxOpen: 0,           // most streams open at once on one session
  maxOpenAfterLimit: 0, // most streams open at once after the client acknowledged a lowered limit
  refused: 0,
};
const seenIds = new Map(); // callId -> times seen
const rawSockets = new Map(); // remotePort -> raw socket (to reset the TCP connection)
let sessionSeq = 0;
let goawayDone = false;
const held = []; // streams held by /goaway-test on the first session

function record(stream, headers, outcome) {
  const rec = {
    session: stream.session.llmpoolId,
    stream: stream.id,
    path: (headers[':path'] || '').split('?')[0],
    method: headers[':method'],
    callId: headers['x-call-id'] || null,
    authority: headers[':authority'] || null,
    outcome,
  };
  stats.streams.push(rec);
  return rec;
}

function respondText(stream, status, text, extra) {
  if (stream.destroyed || stream.closed) return;
  const body = Buffer.from(text);
  stream.respond(Object.assign({ ':status': status, 'content-type': 'text/plain', 'content-length': body.length }, extra || {}));
  stream.end(body);
}

function rawSocketOf(session) {
  return rawSockets.get(session.socket.remotePort);
}

const handlers = {
  '/ok': (s, h, q, rec) => { rec.outcome = 'processed'; respondText(s, 200, 'ok'); },
  '/slow': (s, h, q, rec) => {
    rec.outcome = 'processed';
    setTimeout(() => respondText(s, 200, 'slow'), Number(q.get('ms') || 100));
  },
  '/echo': (s, h, q, rec) => {
    const hash = crypto.createHash('sha256');
    let len = 0;
    s.on('data', (d) => { len += d.length; hash.update(d); });
    s.on('end', () => { rec.outcome = 'processed'; respondText(s, 200, JSON.stringify({ len, sha256: hash.digest('hex') })); });
  },
  '/headers': (s, h, q, rec) => { rec.outcome = 'processed'; respondText(s, 200, JSON.stringify(h)); },
  // Answer at once, before reading the request body, then reset the stream with NO_ERROR
  // (RFC 9113 8.1: "the server does not need the rest of the request").
  '/early-rst': (s, h, q, rec) => {
    rec.outcome = 'processed';
    s.pause();
    s.respond({ ':status': 200, 'content-type': 'text/plain', 'content-length': 5 });
    s.end('early', () => setImmediate(() => { if (!s.closed) s.close(C.NGHTTP2_NO_ERROR); }));
  },
  // The first attempt of a call is refused (REFUSED_STREAM); a re-sent one is served.
  '/refuse': (s, h, q, rec) => {
    const id = h['x-call-id'];
    const n = (seenIds.get(id) || 0) + 1;
    seenIds.set(id, n);
    if (n === 1) {
      rec.outcome = 'refused';
      stats.refused++;
      s.close(C.NGHTTP2_REFUSED_STREAM);
    } else {
      rec.outcome = 'processed';
      respondText(s, 200, 'second');
    }
  },
  '/reset-midbody': (s, h, q, rec) => {
    rec.outcome = 'processed';
    s.respond({ ':status': 200, 'content-length': 1000 });
    s.write(Buffer.alloc(100, 0x61), () => setTimeout(() => s.close(Number(q.get('code') || C.NGHTTP2_INTERNAL_ERROR)), 20));
  },
  '/reset-before-response': (s, h, q, rec) => {
    rec.outcome = 'processed';
    setTimeout(() => s.close(Number(q.get('code') || C.NGHTTP2_INTERNAL_ERROR)), 20);
  },
  '/stall': (s, h, q, rec) => {
    rec.outcome = 'processed';
    s.respond({ ':status': 200, 'content-length': 100 });
    s.write('0123456789');
  },
  // Announces a large body, sends 10 bytes of it, then stalls.
  '/announce': (s, h, q, rec) => {
    rec.outcome = 'processed';
    s.respond({ ':status': 200, 'content-length': Number(q.get('n') || 60000000) });
    s.write('0123456789');
  },
  '/stall-head': (s, h, q, rec) => { rec.outcome = 'processed'; },
  '/tcp-reset': (s, h, q, rec) => {
    rec.outcome = 'processed';
    setTimeout(() => rawSocketOf(s.session).resetAndDestroy(), 20);
  },
  '/tcp-close': (s, h, q, rec) => {
    rec.outcome = 'processed';
    setTimeout(() => rawSocketOf(s.session).destroy(), 20);
  },
  '/huge-header': (s, h, q, rec) => {
    rec.outcome = 'processed';
    const kb = Number(q.get('kb') || 100);
    try {
      s.respond({ ':status': 200, 'x-big': 'b'.repeat(kb * 1024), 'content-length': 2 });
      s.end('ok');
    } catch (e) {
      console.error('huge-header: ' + e);
      s.close(C.NGHTTP2_INTERNAL_ERROR);
    }
  },
  '/continue': (s, h, q, rec) => {
    rec.outcome = 'processed';
    s.additionalHeaders({ ':status': 100 });
    s.additionalHeaders({ ':status': 103, link: '</a.css>; rel=preload' });
    setTimeout(() => respondText(s, 200, 'final'), 20);
  },
  '/sse': (s, h, q, rec) => {
    rec.outcome = 'processed';
    const n = Number(q.get('n') || 5);
    const gap = Number(q.get('gap') || 100);
    const pauseAt = Number(q.get('pauseAt') || -1);
    const pauseMs = Number(q.get('pauseMs') || 0);
    s.respond({ ':status': 200, 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    let i = 0;
    const tick = () => {
      if (s.destroyed || s.closed) return;
      if (i === n) { s.end('data: [DONE]\n\n'); return; }
      s.write('data: {"i":' + i + '}\n\n');
      const wait = i === pauseAt ? pauseMs : gap;
      i++;
      setTimeout(tick, wait);
    };
    tick();
  },
  '/big': (s, h, q, rec) => {
    rec.outcome = 'processed';
    const total = Number(q.get('mb') || 8) * 1024 * 1024;
    s.respond({ ':status': 200, 'content-type': 'application/octet-stream', 'content-length': total });
    const chunk = Buffer.alloc(65536, 0x62);
    let sent = 0;
    const pump = () => {
      while (sent < total && !s.destroyed) {
        sent += chunk.length;
        const last = sent >= total;
        const more = last ? (s.end(chunk), true) : s.write(chunk);
        if (!more) { s.once('drain', pump); return; }
      }
    };
    pump();
  },
  // A body shorter or longer than its content-length (RFC 9113 8.1.1: malformed).
  '/cl-short': (s, h, q, rec) => {
    rec.outcome = 'processed';
    s.respond({ ':status': 200, 'content-type': 'text/plain', 'content-length': 10 });
    s.end('short');
  },
  '/cl-long': (s, h, q, rec) => {
    rec.outcome = 'processed';
    s.respond({ ':status': 200, 'content-type': 'text/plain', 'content-length': 2 });
    s.end('too long');
  },
  // HEAD (or GET) of a resource announced as 100 MB; no body is sent.
  '/head': (s, h, q, rec) => {
    rec.outcome = 'processed';
    s.respond({ ':status': 200, 'content-type': 'application/octet-stream', 'content-length': 100000000 }, { endStream: true });
  },
  // Lowers (or raises) SETTINGS_MAX_CONCURRENT_STREAMS on this connection, then answers after ms.
  '/settings': (s, h, q, rec) => {
    rec.outcome = 'processed';
    const max = Number(q.get('max'));
    const session = s.session;
    session.settings({ maxConcurrentStreams: max }, () => {
      // The client acknowledged the new limit: from now on it must keep to it.
      session.llmpoolLimit = max;
    });
    setTimeout(() => respondText(s, 200, 'settings'), Number(q.get('ms') || 0));
  },
  // Holds streams until n arrived on the first connection, then sends GOAWAY naming the k-th,
  // answers the streams up to it, and (close=1) closes the TCP connection right after.
  '/goaway-test': (s, h, q, rec) => {
    const n = Number(q.get('n') || 8);
    const k = Number(q.get('k') || 3);
    const close = q.get('close') === '1';
    if (goawayDone) {
      rec.outcome = 'processed';
      respondText(s, 200, 'after-goaway');
      return;
    }
    held.push({ s, rec });
    if (held.length < n) return;
    goawayDone = true;
    held.sort((a, b) => a.s.id - b.s.id);
    const last = held[k - 1].s.id;
    const session = s.session;
    session.goaway(C.NGHTTP2_NO_ERROR, last);
    let pending = 0;
    for (const { s: st, rec: r } of held) {
      if (st.id <= last) {
        r.outcome = 'processed';
        pending++;
        st.respond({ ':status': 200, 'content-type': 'text/plain', 'content-length': 4 });
        st.end('held', () => {
          if (--pending === 0 && close) setImmediate(() => rawSocketOf(session).destroy());
        });
      } else {
        r.outcome = 'dropped'; // above last-stream-id: never processed
      }
    }
  },
};

function onStream(stream, headers) {
  const session = stream.session;
  session.llmpoolOpen = (session.llmpoolOpen || 0) + 1;
  stats.maxOpen = Math.max(stats.maxOpen, session.llmpoolOpen);
  if (session.llmpoolLimit !== undefined) {
    stats.maxOpenAfterLimit = Math.max(stats.maxOpenAfterLimit, session.llmpoolOpen);
  }
  stream.on('close', () => { session.llmpoolOpen--; });
  stream.on('error', () => {});
  const url = new URL(headers[':path'], 'http://x');
  const rec = record(stream, headers, 'received');
  const handler = handlers[url.pathname];
  if (!handler) { respondText(stream, 404, 'no such path'); return; }
  handler(stream, headers, url.searchParams, rec);
}

function onSession(session) {
  session.llmpoolId = ++sessionSeq;
  stats.sessions++;
  session.on('error', () => {});
  if (cfg.raiseAfterMs) {
    setTimeout(() => { if (!session.destroyed) session.settings({ maxConcurrentStreams: cfg.raiseTo }); }, cfg.raiseAfterMs);
  }
}

const options = {
  settings: Object.assign({}, cfg.settings || {}),
  maxSendHeaderBlockLength: 1024 * 1024,
  maxSessionMemory: 100,
};
let server;
if (cfg.raw) {
  // Not HTTP/2 at all after the preface: a raw TCP server.
  server = net.createServer((sock) => {
    stats.sessions++;
    sock.on('error', () => {});
    let seen = Buffer.alloc(0);
    let answered = false;
    if (cfg.raw === 'close-at-once') {
      // Accepts, then closes without a word (a TLS client sees its handshake cut).
      sock.destroy();
      return;
    }
    if (cfg.raw === 'no-ping-ack') {
      // Speaks just enough HTTP/2 to answer each request with an empty 200, and never answers a
      // PING: a connection that went silent.
      sock.write(Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]));
      let prefaceSeen = false;
      sock.on('data', (d) => {
        seen = Buffer.concat([seen, d]);
        if (!prefaceSeen) {
          const at = seen.indexOf('\r\n\r\nSM\r\n\r\n');
          if (at < 0) return;
          seen = seen.subarray(at + 10);
          prefaceSeen = true;
        }
        while (seen.length >= 9) {
          const len = seen.readUIntBE(0, 3);
          if (seen.length < 9 + len) return;
          const type = seen[3];
          const flags = seen[4];
          const sid = seen.readUInt32BE(5) & 0x7fffffff;
          seen = seen.subarray(9 + len);
          if (type === 4 && (flags & 1) === 0) sock.write(Buffer.from([0, 0, 0, 4, 1, 0, 0, 0, 0]));
          if (type === 1) {
            stats.streams.push({ session: stats.sessions, stream: sid, path: '?', outcome: 'processed' });
            // HEADERS {:status 200} (static index 8), END_STREAM | END_HEADERS
            sock.write(Buffer.from([0, 0, 1, 1, 5, (sid >>> 24) & 0x7f, (sid >>> 16) & 0xff, (sid >>> 8) & 0xff, sid & 0xff, 0x88]));
          }
          // type 6 (PING): never answered
        }
      });
      return;
    }
    if (cfg.raw === 'garbage-at-start') {
      sock.write('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    // garbage-after-headers: a valid empty SETTINGS and a SETTINGS ACK, then garbage once a
    // HEADERS frame (type 1) arrives.
    sock.write(Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]));
    sock.on('data', (d) => {
      seen = Buffer.concat([seen, d]);
      if (answered) return;
      let off = seen.indexOf('\r\n\r\nSM\r\n\r\n');
      if (off < 0) return;
      off += 10;
      while (off + 9 <= seen.length) {
        const len = seen.readUIntBE(off, 3);
        const type = seen[off + 3];
        const flags = seen[off + 4];
        if (type === 4 && (flags & 1) === 0) sock.write(Buffer.from([0, 0, 0, 4, 1, 0, 0, 0, 0]));
        if (type === 1) {
          answered = true;
          stats.streams.push({ session: stats.sessions, stream: seen.readUInt32BE(off + 5) & 0x7fffffff, path: '?', outcome: 'processed' });
          sock.write('HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n');
          return;
        }
        off += 9 + len;
      }
    });
  });
} else if (cfg.tls) {
  options.cert = fs.readFileSync(cfg.cert);
  options.key = fs.readFileSync(cfg.key);
  options.allowHTTP1 = false;
  server = http2.createSecureServer(options);
  server.on('secureConnection', (sock) => rawSockets.set(sock.remotePort, sock));
} else {
  server = http2.createServer(options);
  server.on('connection', (sock) => rawSockets.set(sock.remotePort, sock));
}
if (!cfg.raw) {
  server.on('session', onSession);
  server.on('stream', onStream);
}

const control = http.createServer((req, res) => {
  if (req.url === '/stats') {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(stats));
  } else {
    res.statusCode = 404;
    res.end();
  }
});

server.listen(0, cfg.host || '127.0.0.1', () => {
  control.listen(0, '127.0.0.1', () => {
    console.log('READY ' + server.address().port + ' ' + control.address().port);
  });
});
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
