// GET /openapi.json: public, valid OpenAPI 3.1, and in step with the routes the app registers
// (every route documented with its method, nothing documented that does not exist, bodies and
// security as the routes really behave).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createHarness, type Harness, HOST_TOKEN, snapshot, TOKEN } from "./helpers/harness.js";

const WRITE_METHODS = new Set(["post", "put", "patch"]);
/** Write routes that take no body (query parameters only). The probe below checks they ignore one. */
const BODYLESS_WRITES = new Set(["post /workspace/{id}/engine/reload"]);

/** Hono's `/workspace/:id/plugins/:name{.+}` -> OpenAPI's `/workspace/{id}/plugins/{name}`. */
function toOpenApiPath(honoPath: string): string {
  return honoPath.replace(/:([A-Za-z_]\w*)(\{(?:[^{}]|\{[^{}]*\})*\})?\??/g, "{$1}");
}

type Operation = {
  security?: Array<Record<string, string[]>>;
  parameters?: Array<{ name: string; in: string; required?: boolean }>;
  requestBody?: { required?: boolean; content?: Record<string, { schema?: Record<string, unknown> }> };
  responses?: Record<string, { content?: Record<string, { schema?: { $ref?: string } }> }>;
};
type Doc = {
  openapi: string;
  info: { version: string };
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: { Error: { properties?: Record<string, unknown>; required?: string[] } } };
};

describe("openapi", () => {
  let h: Harness;
  let doc: Doc;
  let text: string;
  const operations = () =>
    Object.entries(doc.paths).flatMap(([path, methods]) => Object.entries(methods).map(([method, op]) => ({ method, path, op })));

  before(async () => {
    h = await createHarness();
    const res = await h.app.request("/openapi.json");
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
    text = await res.text();
    doc = JSON.parse(text) as Doc;
  });
  after(() => h.close());

  it("is served without a token, as JSON, with openapi 3.1.0", async () => {
    assert.equal(doc.openapi, "3.1.0");
    assert.equal(doc.info.version, h.services.version);
    // A wrong token changes nothing either: the route is public.
    const res = await h.app.request("/openapi.json", { headers: { Authorization: "Bearer wrong" } });
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
    assert.equal(await res.text(), text);
    // And it documents itself as public.
    assert.deepEqual(doc.paths["/openapi.json"]?.get?.security, []);
  });

  it("documents exactly the routes the app registers, with their methods", () => {
    const registered = new Set(
      h.app.routes
        .filter((r) => r.method !== "ALL" && r.method !== "OPTIONS" && !r.path.includes("*"))
        .map((r) => `${r.method.toLowerCase()} ${toOpenApiPath(r.path)}`),
    );
    // The exception: the gateway's catch-all routes (every method) are documented once, as `get`.
    for (const r of h.app.routes) {
      if (r.method === "ALL" && r.path.endsWith("/opencode/*")) registered.add(`get ${toOpenApiPath(r.path.replace(/\*$/, ":path"))}`);
    }
    const documented = new Set(operations().map(({ method, path }) => `${method} ${path}`));
    assert.ok(registered.size > 20, `only ${registered.size} routes found: the filter is wrong`);
    const undocumented = [...registered].filter((r) => !documented.has(r));
    const phantom = [...documented].filter((d) => !registered.has(d));
    assert.deepEqual(undocumented, [], "registered but not in /openapi.json");
    assert.deepEqual(phantom, [], "in /openapi.json but not registered");
  });

  it("converts Hono path patterns", () => {
    assert.equal(toOpenApiPath("/workspace/:id/plugins/:name{.+}"), "/workspace/{id}/plugins/{name}");
    assert.equal(toOpenApiPath("/a/:x{[0-9]{3}}/b/:y"), "/a/{x}/b/{y}");
  });

  it("gives every write route a JSON request body (and no body to DELETE)", () => {
    for (const { method, path, op } of operations()) {
      const key = `${method} ${path}`;
      if (WRITE_METHODS.has(method) && !BODYLESS_WRITES.has(key)) {
        assert.equal(op.requestBody?.required, true, `${key}: requestBody`);
        const schema = op.requestBody?.content?.["application/json"]?.schema;
        assert.equal(schema?.type, "object", `${key}: JSON object schema`);
        assert.ok(schema?.properties && Object.keys(schema.properties).length > 0, `${key}: schema properties`);
        assert.equal(schema?.$schema, undefined, `${key}: no $schema inside OpenAPI`);
      } else {
        assert.equal(op.requestBody, undefined, `${key}: no requestBody`);
      }
    }
  });

  it("matches what the routes do with a malformed body: documented bodies are parsed, others ignored", async () => {
    const files = await snapshot(h.root);
    for (const { method, path, op } of operations()) {
      if (!WRITE_METHODS.has(method)) continue;
      const url = path.replace("{id}", path.startsWith("/approvals") ? "nope" : h.wsId).replace(/\{\w+\}/g, "x");
      const auth: Record<string, string> = op.security?.some((s) => "hostToken" in s && !("bearerAuth" in s))
        ? { "X-OpenWork-Host-Token": HOST_TOKEN }
        : { Authorization: `Bearer ${TOKEN}` };
      const res = await h.app.request(url, {
        method: method.toUpperCase(),
        headers: { ...auth, "Content-Type": "application/json" },
        body: "{not json",
      });
      const body = (await res.json()) as { code?: string };
      if (op.requestBody) assert.deepEqual([res.status, body.code], [400, "invalid_json"], `${method} ${path} reads a body`);
      else assert.notEqual(body.code, "invalid_json", `${method} ${path} is documented without a body but parses one`);
    }
    assert.deepEqual(await snapshot(h.root), files, "the probe wrote nothing");
  });

  it("documents security as the routes enforce it", async () => {
    for (const { method, path, op } of operations()) {
      const key = `${method} ${path}`;
      const url = path.replace("{id}", h.wsId).replace(/\{\w+\}/g, "x");
      const security = op.security;
      assert.ok(Array.isArray(security), `${key}: security is stated`);
      const needs = security.length === 0 ? "none" : security.every((s) => "bearerAuth" in s) ? "bearer" : "host";
      if (needs === "host") assert.deepEqual(security, [{ hostToken: [] }], key);
      const anonymous = await h.app.request(url, { method: method.toUpperCase() });
      await anonymous.body?.cancel();
      if (needs === "none") {
        assert.equal(anonymous.status, 200, `${key}: public`);
        continue;
      }
      assert.equal(anonymous.status, 401, `${key}: needs a token`);
      // The other credential alone is not enough.
      const other: Record<string, string> =
        needs === "host" ? { Authorization: `Bearer ${TOKEN}` } : { "X-OpenWork-Host-Token": HOST_TOKEN };
      const wrong = await h.app.request(url, { method: method.toUpperCase(), headers: other });
      await wrong.body?.cancel();
      assert.equal(wrong.status, 401, `${key}: ${needs} token required`);
    }
  });

  it("declares path parameters and the shared error body on every 4xx/5xx", () => {
    const error = doc.components.schemas.Error;
    assert.deepEqual(Object.keys(error.properties ?? {}).sort(), ["code", "details", "message"]);
    assert.deepEqual([...(error.required ?? [])].sort(), ["code", "message"]);
    for (const { method, path, op } of operations()) {
      const key = `${method} ${path}`;
      const names = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
      const declared = (op.parameters ?? []).filter((p) => p.in === "path");
      assert.deepEqual(
        declared.map((p) => p.name),
        names,
        `${key}: path parameters`,
      );
      assert.ok(
        declared.every((p) => p.required === true),
        `${key}: path parameters are required`,
      );
      const responses = Object.entries(op.responses ?? {});
      assert.ok(
        responses.some(([status]) => status === "200"),
        `${key}: a success response`,
      );
      for (const [status, response] of responses) {
        if (Number(status) < 400) continue;
        assert.equal(response.content?.["application/json"]?.schema?.$ref, "#/components/schemas/Error", `${key} ${status}`);
      }
      if (op.security?.length) assert.ok(op.responses?.["401"], `${key}: documents 401`);
    }
  });
});
