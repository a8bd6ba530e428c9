// A plain node:http server standing in for "some HTTP server" behind the gateway: it records what
// reaches it (method, URL, headers, body), counts the connections it accepted and the requests
// whose answers were cut off, and answers with a handler each test sets.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  body: string;
}

export type UpstreamHandler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

export class Upstream {
  seen: Seen[] = [];
  handler: UpstreamHandler = (_req, res) => res.end("{}");
  /**
   * Answers whose connection closed before they were finished: the proxy hung up. (A request's own
   * `close` event says nothing of this: Node emits it once the request body is read.)
   */
  cut = 0;
  /** Connections accepted. */
  connections = 0;
  url = "";
  private server!: Server;

  async start() {
    this.server = createServer((req, res) => {
      res.on("close", () => {
        if (!res.writableFinished) this.cut++;
      });
      let body = "";
      req.on("data", (d) => (body += d));
      req.on("end", () => {
        this.seen.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, body });
        this.handler(req, res, body);
      });
    });
    this.server.on("connection", () => this.connections++);
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Back to recording nothing and answering `{}`. */
  reset() {
    this.seen = [];
    this.handler = (_req, res) => res.end("{}");
  }

  async stop() {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
