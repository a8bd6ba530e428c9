// The token store on disk: mode 0600, SHA-256 hashes only (no token, no part of one, anywhere a
// client or another local user could read), written atomically, and what it holds survives a
// restart: active tokens still work, revoked and expired ones still say why.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { chmod, mkdir, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { TokenStore, TokenStoreError } from "../../src/services/tokens.js";
import { createHarness, type Harness, HOST_TOKEN, json, tempDir } from "../helpers/harness.js";
import { bearer, expectReason, mint, send } from "./helpers.js";

const HOST = { "X-OpenWork-Host-Token": HOST_TOKEN };
const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

/** Every 8-character window of `secret`: none may appear in `text`. */
function assertNoPartOf(text: string, secret: string, what: string) {
  for (let i = 0; i + 8 <= secret.length; i += 2) {
    assert.ok(!text.includes(secret.slice(i, i + 8)), `${what} holds part of ${secret.slice(0, 6)}… at ${i}`);
  }
}

describe("token store file", () => {
  let dir: string;
  let file: string;
  before(async () => {
    dir = await tempDir("ows-store-");
    // A folder that does not exist yet: the first write creates it.
    file = join(dir, "config", "openwork", "tokens.json");
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test("is created on the first token, mode 0600, holding only hashes; survives a restart", async () => {
    const root = join(dir, "workspace");
    await mkdir(root);
    const h = await createHarness({ tokenStorePath: file }, { root });
    let viewer: Awaited<ReturnType<typeof mint>>;
    let revoked: Awaited<ReturnType<typeof mint>>;
    let shortLived: Awaited<ReturnType<typeof mint>>;
    try {
      await assert.rejects(stat(file), { code: "ENOENT" }, "nothing is written before the first token");
      viewer = await mint(h, { scope: "viewer", label: "Susan's phone", workspaces: [h.wsId] });
      revoked = await mint(h, { scope: "owner", label: "old laptop" });
      shortLived = await mint(h, { scope: "collaborator", label: "visitor", expiresInMs: 1000 });
      assert.equal((await send(h, "DELETE", `/tokens/${revoked.id}`, { headers: HOST })).status, 200);
      assert.equal((await send(h, "GET", "/whoami", { headers: bearer(viewer.token) })).status, 200);

      const info = await stat(file);
      assert.equal(info.mode & 0o777, 0o600, `mode ${(info.mode & 0o777).toString(8)}`);
      const text = await readFile(file, "utf8");
      const stored = JSON.parse(text);
      assert.equal(stored.schemaVersion, 1);
      assert.equal(stored.tokens.length, 3);
      for (const minted of [viewer, revoked, shortLived]) {
        assert.match(minted.token, /^owt_[A-Za-z0-9_-]{22,}$/, "owt_ + at least 128 bits, base64url");
        assert.ok(Buffer.from(minted.token.slice(4), "base64url").length >= 16);
        assertNoPartOf(text, minted.token.slice(4), "the store file");
        const record = stored.tokens.find((t: { id: string }) => t.id === minted.id);
        assert.equal(record.hash, sha256(minted.token), "the SHA-256 of the token");
        assert.deepEqual(
          Object.keys(record)
            .sort()
            .filter((k) => !["expiresAt", "lastUsedAt", "workspaces", "revokedAt"].includes(k)),
          ["createdAt", "createdBy", "hash", "id", "label", "scope"],
        );
        assert.deepEqual(record.createdBy, { type: "host" });
      }
      assert.equal(stored.tokens.find((t: { id: string }) => t.id === viewer.id).label, "Susan's phone");
      assert.deepEqual(stored.tokens.find((t: { id: string }) => t.id === viewer.id).workspaces, [h.wsId]);
      assert.equal(typeof stored.tokens.find((t: { id: string }) => t.id === revoked.id).revokedAt, "number");
      // Written atomically: no temp file is left beside it.
      assert.deepEqual(await readdir(join(dir, "config", "openwork")), ["tokens.json"]);

      // What clients read never holds a token or its hash either.
      const listed = JSON.stringify(await json(await send(h, "GET", "/tokens", { headers: HOST })));
      for (const minted of [viewer, revoked, shortLived]) {
        assertNoPartOf(listed, minted.token.slice(4), "GET /tokens");
        assertNoPartOf(listed, sha256(minted.token), "GET /tokens");
      }
    } finally {
      await h.close();
    }

    // Wait until the short-lived token has expired, then start again over the same file.
    await new Promise((r) => setTimeout(r, 1100));
    const again = await createHarness({ tokenStorePath: file }, { root });
    try {
      const me = await json(await send(again, "GET", "/whoami", { headers: bearer(viewer!.token) }));
      assert.deepEqual(me, { kind: "token", scope: "viewer", tokenId: viewer!.id, label: "Susan's phone", workspaces: [again.wsId] });
      await expectReason(await send(again, "GET", "/whoami", { headers: bearer(revoked!.token) }), "revoked");
      await expectReason(await send(again, "GET", "/whoami", { headers: bearer(shortLived!.token) }), "expired");
      const items = (await json(await send(again, "GET", "/tokens", { headers: HOST }))).items;
      assert.deepEqual(
        items.map((t: { id: string }) => t.id),
        [viewer!.id],
      );
      assert.equal(typeof items[0].lastUsedAt, "number", "the last use before the restart was written out on close");
    } finally {
      await again.close();
    }
    const info = await stat(file);
    assert.equal(info.mode & 0o777, 0o600, "still 0600 after every rewrite");
  });

  test("a store file others can read is tightened to 0600 when it is loaded", async () => {
    const loose = join(dir, "loose.json");
    await writeFile(loose, JSON.stringify({ schemaVersion: 1, tokens: [] }));
    await chmod(loose, 0o644);
    const store = new TokenStore(loose);
    await store.close();
    assert.equal((await stat(loose)).mode & 0o777, 0o600);
  });

  const broken: Array<[string, string]> = [
    ["not JSON", "{ nope"],
    ["a wrong shape", JSON.stringify({ schemaVersion: 1, tokens: [{ id: "tok_1", hash: "short", scope: "viewer" }] })],
    ["another schema version", JSON.stringify({ schemaVersion: 2, tokens: [] })],
  ];
  for (const [name, content] of broken) {
    test(`a store file with ${name} stops startup with a message naming the file`, async () => {
      const bad = join(dir, `bad-${name.replace(/\W/g, "")}.json`);
      await writeFile(bad, content);
      assert.throws(
        () => new TokenStore(bad),
        (error: unknown) => error instanceof TokenStoreError && error.message.includes(bad),
      );
    });
  }

  test("a folder where the store file should be stops startup", async () => {
    const folder = join(dir, "a-folder.json");
    await mkdir(folder);
    assert.throws(() => new TokenStore(folder), TokenStoreError);
  });
});

describe("what a token leaves behind", () => {
  let h: Harness;
  before(async () => {
    h = await createHarness();
  });
  after(() => h.close());

  test("the audit entry and the approval actor name the token (id, label, scope), never its hash", async () => {
    const device = await mint(h, { scope: "collaborator", label: "Susan's phone" });
    const res = await send(h, "PATCH", h.ws("/config"), {
      headers: { ...bearer(device.token), "X-OpenWork-Client-Id": "i-say-i-am-the-host" },
      body: { opencode: { theme: "light" } },
    });
    assert.equal(res.status, 200);
    const { items } = await json(await send(h, "GET", h.ws("/audit"), { headers: HOST }));
    assert.deepEqual(items[0].actor, {
      type: "token",
      scope: "collaborator",
      tokenId: device.id,
      label: "Susan's phone",
      clientId: "i-say-i-am-the-host",
    });
    const log = await readFile(join(h.root, ".opencode/openwork/audit.jsonl"), "utf8");
    assertNoPartOf(log, device.token.slice(4), "the audit log");
    assertNoPartOf(log, sha256(device.token), "the audit log");
  });
});
