// Reads a Server-Sent Events body one message at a time, as it arrives, with a deadline per read
// (so a stream that stalls fails the test instead of hanging it).

export interface SseMessage {
  id?: string;
  event?: string;
  data?: string;
  comment?: string;
}

export class SseReader {
  readonly reader: ReadableStreamDefaultReader<Uint8Array>;
  private buffer = "";
  private readonly decoder = new TextDecoder();

  constructor(source: Response | ReadableStream<Uint8Array>) {
    const body = source instanceof Response ? source.body : source;
    if (!body) throw new Error("the response has no body to read events from");
    this.reader = body.getReader();
  }

  /** The next message block, comments included (`: connected`, `: heartbeat`). */
  async next(timeoutMs = 3000): Promise<SseMessage> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const end = this.buffer.indexOf("\n\n");
      if (end >= 0) {
        const block = this.buffer.slice(0, end);
        this.buffer = this.buffer.slice(end + 2);
        return parseBlock(block);
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no SSE message within ${timeoutMs} ms (buffer: ${JSON.stringify(this.buffer.slice(0, 500))})`);
      let timer: NodeJS.Timeout | undefined;
      const chunk = await Promise.race([
        this.reader.read(),
        new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no SSE data within ${timeoutMs} ms`)), left))),
      ]).finally(() => clearTimeout(timer));
      if (chunk.done) throw new Error("the stream ended");
      this.buffer += this.decoder.decode(chunk.value, { stream: true });
    }
  }

  /** The next message that carries data (comments skipped), its data parsed as JSON. */
  async nextData<T = any>(timeoutMs = 3000): Promise<{ event: string; id?: string; data: T }> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const message = await this.next(Math.max(1, deadline - Date.now()));
      if (message.data === undefined) continue;
      return {
        event: message.event ?? "message",
        ...(message.id !== undefined ? { id: message.id } : {}),
        data: JSON.parse(message.data) as T,
      };
    }
  }

  /** Reads data messages until one matches; a miss says which events did arrive meanwhile. */
  async until<T = any>(
    match: (data: T) => boolean,
    timeoutMs = 3000,
    describe: (data: T) => string = (d) => JSON.stringify(d).slice(0, 80),
  ): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    const seen: string[] = [];
    for (;;) {
      let data: T;
      try {
        data = (await this.nextData<T>(Math.max(1, deadline - Date.now()))).data;
      } catch (error) {
        throw new Error(`${(error as Error).message}; events seen meanwhile: ${seen.join(", ") || "none"}`);
      }
      if (match(data)) return data;
      seen.push(describe(data));
    }
  }

  cancel(): Promise<void> {
    return this.reader.cancel().catch(() => {});
  }
}

function parseBlock(block: string): SseMessage {
  const message: SseMessage = {};
  for (const line of block.split("\n")) {
    if (line.startsWith(":")) {
      message.comment = line.slice(1).trim();
      continue;
    }
    const at = line.indexOf(":");
    const key = at < 0 ? line : line.slice(0, at);
    const value = at < 0 ? "" : line.slice(at + 1).replace(/^ /, "");
    if (key === "id" || key === "event") message[key] = value;
    else if (key === "data") message.data = message.data === undefined ? value : `${message.data}\n${value}`;
  }
  return message;
}
