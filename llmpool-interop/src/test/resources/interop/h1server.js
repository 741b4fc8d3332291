'use strict';
// A raw HTTP/1.1 server on node's `net` module, written for llmpool's interop suite: every byte it
// sends is chosen here, so it can misbehave precisely (stall, reset, garbage, odd framing). It is
// also the upstream behind nginx in the nginx scenarios. The path picks the behaviour.
//
// Usage: node h1server.js [host]   -> prints "READY <port> <controlPort>" on stdout.
// Control (plain HTTP on controlPort): GET /stats -> JSON {connections, requests:[...]}.
const net = require('net');
const http = require('http');
const crypto = require('crypto');

const stats = { connections: 0, requests: [] };
let connSeq = 0;

function send(sock, text) {
  if (!sock.destroyed) sock.write(text);
}

function head(status, reason, headers) {
  let s = 'HTTP/1.1 ' + status + ' ' + reason + '\r\n';
  for (const [k, v] of headers) s += k + ': ' + v + '\r\n';
  return s + '\r\n';
}

function ok(sock, body, extra) {
  const b = Buffer.from(body);
  send(sock, head(200, 'OK', [['Content-Type', 'text/plain'], ['Content-Length', b.length], ...(extra || [])]));
  send(sock, b);
}

// Handlers: (req, conn) -> true when the connection may read the next request afterwards.
// req: {method, path, query, headers, body, raw}; conn: {sock, id, done()}.
const routes = {
  '/ok': (req, c) => { ok(c.sock, 'ok'); c.done(); },
  '/slow': (req, c) => {
    const ms = Number(req.query.get('ms') || 100);
    setTimeout(() => { ok(c.sock, 'slow'); c.done(); }, ms);
  },
  '/echo': (req, c) => {
    const sha = crypto.createHash('sha256').update(req.body).digest('hex');
    ok(c.sock, JSON.stringify({ len: req.body.length, sha256: sha }), [['X-Echo', 'yes']]);
    c.done();
  },
  // The request head exactly as received (request line and header lines).
  '/head-echo': (req, c) => { ok(c.sock, req.raw); c.done(); },
  '/close': (req, c) => { ok(c.sock, 'bye', [['Connection', 'close']]); c.sock.end(); },
  // HTTP/1.0 response, body delimited by the end of the connection.
  '/http10': (req, c) => {
    const n = Number(req.query.get('n') || 100000);
    c.sock.write('HTTP/1.0 200 OK\r\nContent-Type: application/octet-stream\r\n\r\n');
    c.sock.write(Buffer.alloc(n, 0x61));
    c.sock.end();
  },
  // Same, but the connection is reset (RST) instead of closed: the body is truncated.
  '/http10-rst': (req, c) => {
    c.sock.write('HTTP/1.0 200 OK\r\nContent-Type: application/octet-stream\r\n\r\n');
    c.sock.write(Buffer.alloc(1000, 0x61), () => setTimeout(() => c.sock.resetAndDestroy(), 50));
  },
  '/chunked-trailers': (req, c) => {
    c.sock.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Checksum\r\n\r\n');
    c.sock.write('5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Checksum: abc\r\nX-More: 1\r\n\r\n');
    c.done();
  },
  '/continue': (req, c) => {
    c.sock.write('HTTP/1.1 100 Continue\r\n\r\n');
    c.sock.write('HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n');
    setTimeout(() => { ok(c.sock, 'final'); c.done(); }, 20);
  },
  '/switching': (req, c) => { c.sock.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: foo\r\nConnection: upgrade\r\n\r\n'); },
  // Both Transfer-Encoding and Content-Length (RFC 9112 6.1: chunked wins, do not reuse).
  '/te-and-cl': (req, c) => {
    c.sock.write('HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n');
    c.done();
  },
  '/cl-mismatch': (req, c) => { c.sock.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok'); c.done(); },
  '/garbage': (req, c) => { c.sock.write('HELLO THIS IS NOT HTTP\r\n\r\n'); c.done(); },
  '/stall': (req, c) => { c.sock.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789'); },
  // Announces a large body, sends 10 bytes of it, then stalls.
  '/announce': (req, c) => {
    c.sock.write('HTTP/1.1 200 OK\r\nContent-Length: ' + Number(req.query.get('n') || 60000000) + '\r\n\r\n0123456789');
  },
  '/stall-head': (req, c) => { /* never answers */ },
  '/rst-midbody': (req, c) => {
    c.sock.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789', () => setTimeout(() => c.sock.resetAndDestroy(), 50));
  },
  '/close-before-response': (req, c) => { c.sock.end(); },
  '/rst-before-response': (req, c) => { c.sock.resetAndDestroy(); },
  '/head': (req, c) => {
    // A HEAD (or GET) of a large resource: Content-Length says 100 MB, no body for HEAD.
    c.sock.write('HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: 100000000\r\n\r\n');
    if (req.method === 'HEAD') c.done(); else c.sock.end();
  },
  '/204-with-length': (req, c) => { c.sock.write('HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n'); c.done(); },
  '/304': (req, c) => { c.sock.write('HTTP/1.1 304 Not Modified\r\nContent-Length: 1234\r\nETag: "x"\r\n\r\n'); c.done(); },
  '/extra-bytes': (req, c) => { c.sock.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA'); c.done(); },
  '/big-header': (req, c) => {
    const kb = Number(req.query.get('kb') || 70);
    c.sock.write('HTTP/1.1 200 OK\r\nX-Big: ' + 'b'.repeat(kb * 1024) + '\r\nContent-Length: 2\r\n\r\nok');
    c.done();
  },
  '/many-headers': (req, c) => {
    let h = 'HTTP/1.1 200 OK\r\n';
    for (let i = 0; i < 2000; i++) h += 'X-H' + i + ': v\r\n';
    c.sock.write(h + 'Content-Length: 2\r\n\r\nok');
    c.done();
  },
  '/keep-alive-timeout': (req, c) => {
    const s = Number(req.query.get('s') || 2);
    ok(c.sock, 'ka', [['Keep-Alive', 'timeout=' + s + ', max=100']]);
    c.idleClose(s * 1000);
    c.done();
  },
  // Answer, then close the connection once it has been idle for `ms` (a server keep-alive limit
  // that is not announced); `rst=1` resets instead of closing.
  '/idle-close': (req, c) => {
    ok(c.sock, 'idle-close');
    c.idleClose(Number(req.query.get('ms') || 200), req.query.get('rst') === '1');
    c.done();
  },
  // Answer with keep-alive, then close `ms` later whatever arrives meanwhile (what an exiting
  // nginx worker does after its last response): a request sent in between is never read.
  '/keepalive-then-close': (req, c) => {
    ok(c.sock, 'last');
    c.stop();
    setTimeout(() => c.sock.destroy(), Number(req.query.get('ms') || 100));
  },
  '/no-reason': (req, c) => { c.sock.write('HTTP/1.1 200\r\nContent-Length: 2\r\n\r\nok'); c.done(); },
  '/lf-only': (req, c) => { c.sock.write('HTTP/1.1 200 OK\nContent-Length: 2\nX-A: b\n\nok'); c.done(); },
  '/folded': (req, c) => { c.sock.write('HTTP/1.1 200 OK\r\nX-Folded: a\r\n  b\r\nContent-Length: 2\r\n\r\nok'); c.done(); },
  '/slow-head': (req, c) => {
    // One byte every 100 ms, forever: never a silence of `read`, but the call never ends.
    const text = 'HTTP/1.1 200 OK\r\n' + 'X-Drip: '.padEnd(100000, 'd');
    let i = 0;
    const t = setInterval(() => {
      if (c.sock.destroyed || i >= text.length) { clearInterval(t); return; }
      c.sock.write(text[i++]);
    }, 100);
  },
  '/sse': (req, c) => {
    const n = Number(req.query.get('n') || 5);
    const gap = Number(req.query.get('gap') || 100);
    c.sock.write('HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n\r\n');
    let i = 0;
    const tick = () => {
      if (c.sock.destroyed) return;
      if (i === n) { c.sock.write('0\r\n\r\n'); c.done(); return; }
      const ev = 'data: {"i":' + i++ + '}\n\n';
      c.sock.write(Buffer.byteLength(ev).toString(16) + '\r\n' + ev + '\r\n');
      setTimeout(tick, gap);
    };
    tick();
  },
  '/big': (req, c) => {
    const mb = Number(req.query.get('mb') || 8);
    const total = mb * 1024 * 1024;
    c.sock.write('HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: ' + total + '\r\n\r\n');
    const chunk = Buffer.alloc(65536, 0x62);
    let sent = 0;
    const pump = () => {
      while (sent < total && !c.sock.destroyed) {
        sent += chunk.length;
        if (!c.sock.write(chunk)) { c.sock.once('drain', pump); return; }
      }
      if (sent >= total) c.done();
    };
    pump();
  },
  // Answers 413 with Connection: close as soon as the head arrives, without reading the body, then
  // closes (a server refusing an oversized upload).
  '/reject-early': (req, c) => {
    c.sock.write('HTTP/1.1 413 Payload Too Large\r\nConnection: close\r\nContent-Length: 8\r\n\r\ntoo big\n');
    c.sock.end();
  },
};
routes['/reject-early'].early = true;

const server = net.createServer((sock) => {
  const id = ++connSeq;
  stats.connections++;
  let buf = Buffer.alloc(0);
  let busy = false;
  let idleTimer = null;
  let idleMs = 0, idleRst = false;
  let stopped = false;
  sock.on('error', () => {});
  const armIdle = () => {
    if (idleMs > 0 && !busy) {
      clearTimeout(idleTimer);
      idleTimer = setTimeout(() => { if (idleRst) sock.resetAndDestroy(); else sock.end(); }, idleMs);
    }
  };
  const conn = {
    sock, id,
    done() { busy = false; armIdle(); setImmediate(parse); },
    idleClose(ms, rst) { idleMs = ms; idleRst = !!rst; },
    stop() { stopped = true; },
  };
  const parse = () => {
    if (busy || stopped || sock.destroyed) return;
    const end = buf.indexOf('\r\n\r\n');
    if (end < 0) return;
    const raw = buf.subarray(0, end + 2).toString('latin1');
    const lines = raw.split('\r\n');
    const [method, target] = lines[0].split(' ');
    const headers = {};
    for (const l of lines.slice(1)) {
      const i = l.indexOf(':');
      if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
    }
    const url = new URL(target, 'http://x');
    const route = routes[url.pathname] || ((req, c) => { send(c.sock, head(404, 'Not Found', [['Content-Length', 0]])); c.done(); });
    const len = Number(headers['content-length'] || 0);
    const rec = { conn: id, method, path: url.pathname, callId: headers['x-call-id'] || null, bodyLen: len, host: headers['host'] || null };
    if (route.early) {
      stats.requests.push(rec);
      busy = true;
      buf = Buffer.alloc(0);
      route({ method, path: url.pathname, query: url.searchParams, headers, body: Buffer.alloc(0), raw }, conn);
      return;
    }
    if (buf.length < end + 4 + len) return; // wait for the whole body
    const body = buf.subarray(end + 4, end + 4 + len);
    buf = buf.subarray(end + 4 + len);
    busy = true;
    clearTimeout(idleTimer);
    stats.requests.push(rec);
    route({ method, path: url.pathname, query: url.searchParams, headers, body, raw }, conn);
  };
  sock.on('data', (d) => { buf = Buffer.concat([buf, d]); clearTimeout(idleTimer); parse(); });
  sock.on('close', () => clearTimeout(idleTimer));
});

const control = http.createServer((req, res) => {
  if (req.url === '/stats') {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(stats));
  } else {
    res.statusCode = 404;
    res.end();
  }
});

server.listen(0, process.argv[2] || '127.0.0.1', () => {
  control.listen(0, '127.0.0.1', () => {
    console.log('READY ' + server.address().port + ' ' + control.address().port);
  });
});
process.stdin.on('end', () => process.exit(0)); // the test closed our stdin: stop
process.stdin.resume();
