// The published package: built the way `npm run build` builds it (tsconfig.build.json, into a
// temporary folder), packed with `npm pack --dry-run` (offline), it holds the client and its
// types; `openwork-server/client` resolves through the `exports` map and runs in plain Node ESM
// (no tsx), importing nothing but its own files and the route table (no zod, no node: modules,
// nothing a browser or Bun lacks); and a TypeScript project without Node's types type-checks
// against its declarations.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { cp, mkdir, readFile, realpath, rm, symlink, writeFile } from "node:fs/promises";
import { dirname, join, relative, resolve } from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { ROOT } from "../helpers/child-server.js";
import { tempDir } from "../helpers/harness.js";

const run = promisify(execFile);
const TSC = join(ROOT, "node_modules/typescript/bin/tsc");

let work: string;
let pkg: string;
let consumer: string;

before(async () => {
  work = await tempDir("ows-pack-");
  pkg = join(work, "openwork-server");
  consumer = join(work, "consumer");
  await mkdir(pkg);
  await cp(join(ROOT, "package.json"), join(pkg, "package.json"));
  await cp(join(ROOT, "README.md"), join(pkg, "README.md"));
  await cp(join(ROOT, "src/ui"), join(pkg, "src/ui"), { recursive: true });
  await run(process.execPath, [TSC, "-p", join(ROOT, "tsconfig.build.json"), "--outDir", join(pkg, "dist")], {
    cwd: ROOT,
    maxBuffer: 1 << 24,
  });
  // The consumer installs the package (a link, as `npm install <folder>` makes), which finds its
  // own dependencies (zod's types for the declarations) in its node_modules.
  await symlink(await realpath(join(ROOT, "node_modules")), join(pkg, "node_modules"), "dir");
  await mkdir(join(consumer, "node_modules"), { recursive: true });
  await symlink(pkg, join(consumer, "node_modules/openwork-server"), "dir");
  await writeFile(join(consumer, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }));
});
after(() => rm(work, { recursive: true, force: true }));

/** Files a module imports (static and dynamic, `export ... from` included), as written. */
function specifiers(source: string): string[] {
  const found = new Set<string>();
  for (const match of source.matchAll(/(?:^|[\s;}])(?:import|export)\s[^'"]*?from\s*["']([^"']+)["']/g)) found.add(match[1]!);
  for (const match of source.matchAll(/(?:^|[\s;])import\s*\(?\s*["']([^"']+)["']/g)) found.add(match[1]!);
  return [...found];
}

describe("the package", () => {
  test("npm pack lists the client's JavaScript and types, and every target of exports, main and bin", async () => {
    const { stdout } = await run("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], { cwd: pkg, maxBuffer: 1 << 24 });
    const [packed] = JSON.parse(stdout) as Array<{ files: Array<{ path: string }> }>;
    const files = new Set(packed!.files.map((f) => f.path));
    for (const file of [
      "dist/client/index.js",
      "dist/client/index.d.ts",
      "dist/client/sse.js",
      "dist/client/sse.d.ts",
      "dist/client/errors.js",
      "dist/client/errors.d.ts",
      "dist/client/types.d.ts",
      "dist/contract/routes.js",
      "dist/contract/routes.d.ts",
      "dist/contract/schemas.d.ts",
      "dist/contract/entities.d.ts",
      "dist/contract/streams.d.ts",
      "dist/errors.d.ts",
      "src/ui/index.html",
    ]) {
      assert.ok(files.has(file), `${file} is packed`);
    }
    const manifest = JSON.parse(await readFile(join(pkg, "package.json"), "utf8"));
    const targets: string[] = [manifest.main, manifest.types, ...Object.values<string>(manifest.bin)];
    for (const entry of Object.values<string | Record<string, string>>(manifest.exports)) {
      targets.push(...(typeof entry === "string" ? [entry] : Object.values(entry)));
    }
    for (const target of targets) assert.ok(files.has(target.replace(/^\.\//, "")), `${target} (a target in package.json) is packed`);
    assert.ok(manifest.exports["./client"], "the ./client export");
    assert.ok(![...files].some((f) => f.startsWith("test/") || f.startsWith("src/client")), "no tests or TypeScript sources");
  });

  test("the client imports only its own files and the route table: no zod, no node: modules, nothing Node-only", async () => {
    const entry = join(pkg, "dist/client/index.js");
    const seen = new Set<string>();
    const queue = [entry];
    while (queue.length > 0) {
      const file = queue.shift()!;
      if (seen.has(file)) continue;
      seen.add(file);
      const source = await readFile(file, "utf8");
      for (const specifier of specifiers(source)) {
        assert.match(specifier, /^\.\.?\//, `${relative(pkg, file)} imports "${specifier}": only relative imports`);
        queue.push(resolve(dirname(file), specifier));
      }
      assert.doesNotMatch(source, /\b(Buffer|process|require|__dirname|setImmediate)\b/, `${relative(pkg, file)} uses a Node-only global`);
    }
    assert.deepEqual([...seen].map((f) => relative(pkg, f)).sort(), [
      "dist/client/errors.js",
      "dist/client/index.js",
      "dist/client/sse.js",
      "dist/contract/routes.js",
    ]);
    // The declarations do not lean on Node's types either.
    for (const file of ["index", "sse", "errors", "types"]) {
      const types = await readFile(join(pkg, `dist/client/${file}.d.ts`), "utf8");
      assert.doesNotMatch(types, /NodeJS\.|from "node:|reference types="node"/, `dist/client/${file}.d.ts`);
    }
    // The scan itself finds what it should.
    assert.deepEqual(specifiers(`import { z } from "zod";\nexport * from './x.js';\nimport "side";\nawait import("dyn");`).sort(), [
      "./x.js",
      "dyn",
      "side",
      "zod",
    ]);
  });

  test("`openwork-server/client` resolves through exports and runs in plain Node ESM", async () => {
    const script = `
      import { createClient, OpenworkError, SseParser } from "openwork-server/client";
      const out = { main: import.meta.resolve("openwork-server"), client: import.meta.resolve("openwork-server/client") };
      const sse = (text) => new Response(new Blob([text]).stream(), { headers: { "Content-Type": "text/event-stream" } });
      const fetch = async (url, init) => {
        const u = new URL(url);
        if (u.pathname.endsWith("/events") && init.headers.Accept === "text/event-stream")
          return sse(": connected\\n\\ndata: {\\"seq\\":4,\\"reason\\":\\"skills\\"}\\nid: 4\\n\\n");
        if (u.pathname.endsWith("/events")) return Response.json({ items: [], cursor: 3 });
        if (u.pathname === "/health") return Response.json({ ok: true, version: "x", uptimeMs: 1 });
        return Response.json({ code: "not_found", message: "nope" }, { status: 404 });
      };
      const ow = createClient({ baseUrl: "http://h", token: "t", fetch });
      out.health = await ow.getHealth();
      try { await ow.getSkill({ id: "w", name: "x" }); } catch (e) { out.error = [e instanceof OpenworkError, e.status, e.code]; }
      for await (const event of ow.workspace("w").streamEvents({ reconnect: false })) { out.event = event; break; }
      out.methods = Object.keys(ow).length;
      out.parser = typeof SseParser;
      console.log(JSON.stringify(out));
    `;
    const { stdout } = await run(process.execPath, ["--input-type=module", "-e", script], {
      cwd: consumer,
      env: { PATH: process.env.PATH },
    });
    const out = JSON.parse(stdout);
    assert.equal(out.client, `file://${pkg}/dist/client/index.js`.replace(pkg, await realpath(pkg)));
    assert.match(out.main, /\/dist\/app\.js$/);
    assert.deepEqual(out.health, { ok: true, version: "x", uptimeMs: 1 });
    assert.deepEqual(out.error, [true, 404, "not_found"]);
    assert.deepEqual(out.event, { seq: 4, reason: "skills" });
    assert.ok(out.methods > 40);
    assert.equal(out.parser, "function");
  });

  test("a TypeScript project without Node's types (and the README's examples) type-checks against the declarations", async () => {
    await writeFile(
      join(consumer, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          target: "ES2022",
          module: "NodeNext",
          moduleResolution: "NodeNext",
          lib: ["ES2022", "DOM", "DOM.Iterable"],
          types: [],
          strict: true,
          noEmit: true,
          skipLibCheck: true,
        },
        files: ["app.ts", "readme.ts", "wrong.ts"],
      }),
    );
    await writeFile(
      join(consumer, "app.ts"),
      `import { createClient, OpenworkError, type ApprovalStreamEvent, type ReloadEvent } from "openwork-server/client";

const ow = createClient({ baseUrl: "http://127.0.0.1:8787", token: "t", hostToken: "h", clientId: "app" });
export async function use(signal: AbortSignal): Promise<void> {
  const version: string = (await ow.getHealth()).version;
  const { items } = await ow.listSkills({ id: "ws", query: { includeGlobal: true } });
  const scope: "project" | "global" = items[0]!.scope;
  await ow.upsertCommand({ id: "ws", body: { name: "/ship", template: "Ship", model: null } });
  const deleted: { ok: true; name: string } = await ow.deleteCommand({ id: "ws", name: "ship" });
  await ow.listAudit({ id: "ws", query: { limit: 5 } });
  await ow.reloadEngine({ id: "ws", query: { force: true } });
  await ow.workspace("ws").listCommands({ query: { scope: "global" } });
  const answer = await ow.request("getConfig", { id: "ws" });
  const etag: string | null = answer.headers.get("ETag");
  // @ts-expect-error the workspace id is required
  await ow.listSkills();
  // @ts-expect-error a write needs its body
  await ow.upsertSkill({ id: "ws" });
  // @ts-expect-error not a scope
  await ow.createToken({ body: { scope: "admin", label: "x" } });
  // @ts-expect-error the answer has no such field
  (await ow.getHealth()).nope;
  // @ts-expect-error not mounted under /w/:id
  ow.workspace("ws").listTokens;
  for await (const event of ow.streamEvents({ id: "ws", signal })) {
    const seq: number = event.seq;
    const reason: ReloadEvent["reason"] = event.reason;
    void [seq, reason];
  }
  for await (const event of ow.streamApprovals({ signal }) as AsyncIterable<ApprovalStreamEvent>) {
    if (event.type === "requested") void event.data.changes[0]?.diff;
    if (event.type === "resolved") void event.data.allowed;
  }
  try {
    await ow.whoami();
  } catch (error) {
    if (error instanceof OpenworkError && error.code === "rate_limited") void [error.status, error.retryAfter, error.details];
  }
  void [version, scope, deleted, etag];
}
`,
    );
    // The README's examples of the client, in order, as one module.
    const readme = await readFile(join(ROOT, "README.md"), "utf8");
    const section = readme.slice(readme.indexOf("\n## Client\n"), readme.indexOf("\n## ", readme.indexOf("\n## Client\n") + 1));
    const blocks = [...section.matchAll(/^( *)```ts\n([\s\S]*?)^\1```$/gm)].map(([, indent, code]) =>
      code!.replace(new RegExp(`^${indent}`, "gm"), ""),
    );
    assert.ok(blocks.length >= 3, `the README's Client section has its examples (${blocks.length})`);
    await writeFile(join(consumer, "readme.ts"), `${blocks.join("\n")}\nexport {};\n`);
    // And, so the check is no rubber stamp, a file with a wrong type, which must be reported.
    await writeFile(
      join(consumer, "wrong.ts"),
      `import { createClient } from "openwork-server/client";\nexport const n: number = (await createClient({ baseUrl: "x" }).getHealth()).version;\n`,
    );
    const result = await run(process.execPath, [TSC, "-p", join(consumer, "tsconfig.json")], { cwd: consumer }).then(
      () => ({ stdout: "" }),
      (e: { stdout: string }) => e,
    );
    const reported = result.stdout.trim().split("\n");
    assert.equal(reported.length, 1, `tsc reported:\n${result.stdout}`);
    assert.match(reported[0]!, /^wrong\.ts\(2,\d+\): error TS2322/);
  });
});
