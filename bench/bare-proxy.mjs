// The cheapest proxy Node can be: node:http with a keep-alive agent, piping both ways, adding the
// engine's basic auth. bench/gateway.ts loads it beside the gateway, so the report can tell the
// cost of any proxy hop on this machine from the cost of ours.
// Usage: node bench/bare-proxy.mjs <engine url> <authorization header value>
import { Agent, createServer, request } from "node:http";

const [target, authorization] = process.argv.slice(2);
const { hostname, port } = new URL(target);
const agent = new Agent({ keepAlive: true });
const server = createServer((req, res) => {
  const headers = { ...req.headers, authorization, host: `${hostname}:${port}` };
  const upstream = request({ hostname, port, path: req.url, method: req.method, headers, agent }, (answer) => {
    res.writeHead(answer.statusCode ?? 502, answer.headers);
    answer.pipe(res);
  });
  upstream.on("error", () => res.destroy());
  req.pipe(upstream);
});
server.listen(0, "127.0.0.1", () => console.log(`listening ${server.address().port}`));
