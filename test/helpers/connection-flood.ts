// A hostile client as its own process (so its work does not slow the test's own measurements):
// opens COUNT connections to 127.0.0.1:PORT from LOCAL_ADDRESS, BATCH at a time, each sending
// half a request and never finishing it. Prints `{"held","closed","ms"}` as one JSON line when
// done, then keeps the held connections open until it is killed.
// Usage: node --import tsx connection-flood.ts PORT COUNT BATCH LOCAL_ADDRESS
import { connect, type Socket } from "node:net";

const [port, count, batch] = process.argv.slice(2, 5).map(Number) as [number, number, number];
const localAddress = process.argv[5] ?? "127.0.0.2";
const HALF_SENT = "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: ";

const held = new Set<Socket>();
let closed = 0;

function open(): Promise<void> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: "127.0.0.1", localAddress });
    socket.on("error", () => {});
    socket.resume(); // read whatever the server answers, so its close is seen
    socket.on("close", () => {
      held.delete(socket);
      closed++;
      resolve();
    });
    socket.on("connect", () => {
      held.add(socket);
      socket.write(HALF_SENT);
      resolve();
    });
  });
}

const started = Date.now();
for (let sent = 0; sent < count; sent += batch) {
  await Promise.all(Array.from({ length: Math.min(batch, count - sent) }, open));
}
// Let the server's closes arrive.
let last = -1;
while (last !== held.size) {
  last = held.size;
  await new Promise((r) => setTimeout(r, 300));
}
process.stdout.write(`${JSON.stringify({ held: held.size, closed, ms: Date.now() - started })}\n`);
setInterval(() => {}, 60_000);
