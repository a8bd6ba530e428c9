// Event stream subscribers in their own process, so reading their streams does not slow the
// process that times the writes. Opens N `GET /workspace/:id/events` streams and keeps reading.
// Usage: node bench/subscribers.mjs <url> <token> <count>
// Prints "ready <count>" once every stream is open; each line on stdin ("count") is answered with
// "events <total> <min per stream>"; exits when stdin closes.
import { Agent, get } from "node:http";
import { createInterface } from "node:readline";

const [url, token, countText] = process.argv.slice(2);
const count = Number(countText);
const agent = new Agent({ keepAlive: false, maxSockets: Number.POSITIVE_INFINITY });
const perStream = new Array(count).fill(0);
let open = 0;

for (let i = 0; i < count; i++) {
  const req = get(url, { agent, headers: { Authorization: `Bearer ${token}`, Accept: "text/event-stream" } }, (res) => {
    if (res.statusCode !== 200) {
      console.error(`stream ${i}: status ${res.statusCode}`);
      process.exit(1);
    }
    let connected = false;
    let partial = "";
    res.setEncoding("utf8");
    res.on("data", (chunk) => {
      const lines = (partial + chunk).split("\n");
      partial = lines.pop() ?? "";
      for (const line of lines) {
        if (line.startsWith("id: "))
          perStream[i]++; // one per event
        else if (!connected && line === ": connected") {
          connected = true;
          if (++open === count) console.log(`ready ${count}`);
        }
      }
    });
    res.on("end", () => console.error(`stream ${i} ended`));
  });
  req.on("error", (error) => {
    console.error(`stream ${i}: ${error.message}`);
    process.exit(1);
  });
}

createInterface({ input: process.stdin }).on("line", () => {
  console.log(`events ${perStream.reduce((a, b) => a + b, 0)} ${Math.min(...perStream)}`);
});
process.stdin.on("end", () => process.exit(0));
