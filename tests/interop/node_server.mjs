// A Node `ws` echo server for echo_client --check: every message goes back with its type.
// Usage: node tests/interop/node_server.mjs PORT                (listens on 127.0.0.1 only)
//        node tests/interop/node_server.mjs PORT CERT.pem KEY.pem   (https + ws: wss://)
import { WebSocketServer } from 'ws';
import { createServer } from 'node:https';
import { readFileSync } from 'node:fs';

const [port, cert, key] = [Number(process.argv[2]), process.argv[3], process.argv[4]];
const https = cert ? createServer({ cert: readFileSync(cert), key: readFileSync(key) }) : null;
const wss = new WebSocketServer(https ? { server: https, maxPayload: 64 << 20 }
                                      : { host: '127.0.0.1', port, maxPayload: 64 << 20 });
const listening = () => console.log(`node echo server: listening on 127.0.0.1:${port}${https ? ' (https, wss)' : ''}`);
if (https) https.listen(port, '127.0.0.1', listening); else wss.on('listening', listening);
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.on('error', (err) => console.log(`node echo server: ${err.message}`));
});
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(0));
