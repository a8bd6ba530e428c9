// A request over a real port whose body goes out as a chunked stream (no Content-Length), one
// piece per tick, so the server reads it in pieces as a slow client would send it.
import { request } from "node:http";

export interface ChunkedAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

export function sendChunked(
  port: number,
  path: string,
  headers: Record<string, string>,
  chunks: string[],
  method = "POST",
): Promise<ChunkedAnswer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, method, path, headers }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (d) => (text += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
    });
    // The server may answer (413) and close before every chunk is sent.
    req.on("error", (error: NodeJS.ErrnoException) => (error.code === "EPIPE" || error.code === "ECONNRESET" ? undefined : reject(error)));
    (async () => {
      for (const chunk of chunks) {
        if (req.destroyed) return;
        req.write(chunk);
        await new Promise((r) => setImmediate(r));
      }
      req.end();
    })();
  });
}
