// The ceiling: a bare node:http server answering each path with bytes held in memory.
// Usage: node bench/baseline-server.mjs <responses.json> [port]   (prints "listening <port>")
import { readFileSync } from "node:fs";
import { createServer } from "node:http";

const responses = JSON.parse(readFileSync(process.argv[2], "utf8"));
const table = new Map(Object.entries(responses).map(([path, r]) => [path, { status: r.status, type: r.type, body: Buffer.from(r.body) }]));
const server = createServer((req, res) => {
  const hit = table.get(req.url);
  if (!hit) {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(hit.status, { "content-type": hit.type, "content-length": hit.body.length });
  res.end(hit.body);
});
server.listen(Number(process.argv[3] ?? 0), "127.0.0.1", () => console.log(`listening ${server.address().port}`));
