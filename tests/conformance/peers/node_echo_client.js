// Echo client on Node `ws` for validating the conformance suite (client mode).
// usage: node node_echo_client.js ws://127.0.0.1:PORT [AGENT [deflate]]
// With "deflate", permessage-deflate is offered (ws' default offer, every message compressed).
// Follows the usual test-runner scheme: /getCaseCount, /runCase?case=N&agent=A for every
// case (echoing every message with its own opcode), then /updateReports?agent=A.
'use strict';
const WebSocket = require('ws');

const base = process.argv[2] || 'ws://127.0.0.1:9001';
const agent = process.argv[3] || 'node-ws';
const deflate = process.argv[4] === 'deflate' ? { threshold: 0 } : false;
const deadline = setTimeout(() => process.exit(2), 300 * 1000);

function open(path, onMessage) {
  return new Promise((resolve) => {
    let ws;
    try {
      ws = new WebSocket(base + path, { perMessageDeflate: deflate, maxPayload: 64 * 1024 * 1024 });
    } catch (e) {
      resolve();
      return;
    }
    ws.on('message', (data, isBinary) => onMessage(ws, data, isBinary));
    ws.on('error', () => {});
    ws.on('close', () => resolve());
  });
}

(async () => {
  let count = 0;
  await open('/getCaseCount', (ws, data) => { count = parseInt(data.toString(), 10); });
  for (let i = 1; i <= count; i++) {
    await open('/runCase?case=' + i + '&agent=' + encodeURIComponent(agent),
      (ws, data, isBinary) => ws.send(data, { binary: isBinary }));
  }
  await open('/updateReports?agent=' + encodeURIComponent(agent), () => {});
  clearTimeout(deadline);
})();
