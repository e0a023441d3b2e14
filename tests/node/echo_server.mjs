// A Node `ws` echo server for echo_client --check: every message goes back with its type.
// Usage: node tests/node/echo_server.mjs PORT      (listens on 127.0.0.1 only)
import { WebSocketServer } from 'ws';

const port = Number(process.argv[2]);
const wss = new WebSocketServer({ host: '127.0.0.1', port, maxPayload: 64 << 20 });
wss.on('listening', () => console.log(`node echo server: listening on 127.0.0.1:${port}`));
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.on('error', (err) => console.log(`node echo server: ${err.message}`));
});
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(0));
