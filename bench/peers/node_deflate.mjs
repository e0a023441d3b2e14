// Node `ws` echo server with permessage-deflate, for make bench's compressed echo (bench/run.sh).
// Usage: node bench/peers/node_deflate.mjs PORT     (listens on 127.0.0.1 only)
// perMessageDeflate with ws's defaults (zlib level Z_DEFAULT_COMPRESSION, memLevel 8, server
// context takeover unless the client asks otherwise, at most 10 zlib jobs at once) except
// threshold: 64 bytes, as ws.h's WS_DEFLATE_MIN_SIZE (ws's default, 1024, would send every
// chat-sized echo uncompressed).
import { WebSocketServer } from 'ws';

const port = Number(process.argv[2]);
const wss = new WebSocketServer({ host: '127.0.0.1', port, maxPayload: 64 << 20,
                                  perMessageDeflate: { threshold: 64 } });
wss.on('listening', () => console.log(`node deflate echo server: listening on 127.0.0.1:${port}`));
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.on('error', (err) => console.log(`node deflate echo server: ${err.message}`));
});
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(0));
