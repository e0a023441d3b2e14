// Echo server on Node `ws` for validating the conformance suite (server mode).
// usage: node node_echo_server.js PORT [LIFETIME_SECONDS [deflate]]  (PORT 0 picks a free one)
// Prints "listening PORT" once ready; exits by itself after LIFETIME_SECONDS (default 600).
// With "deflate", permessage-deflate is on (ws' defaults, every message compressed).
'use strict';
const WebSocket = require('ws');

const port = parseInt(process.argv[2] || '0', 10);
const lifetime = parseFloat(process.argv[3] || '600');
const wss = new WebSocket.WebSocketServer({
  host: '127.0.0.1',
  port,
  maxPayload: 64 * 1024 * 1024,
  perMessageDeflate: process.argv[4] === 'deflate' ? { threshold: 0 } : false,
});
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.on('error', () => {});
});
wss.on('listening', () => console.log('listening ' + wss.address().port));
setTimeout(() => process.exit(0), lifetime * 1000).unref();
