// GET /openapi.json: public, a valid OpenAPI 3.1 document (checked by an independent validator),
// in step with the routes the app registers (every operation and its /w/:id mount, nothing
// else), with real schemas for every body and answer, and security as the routes enforce it.
// The check that every answer matches its schema is test/contract.test.ts.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Validator } from "@seriousme/openapi-schema-validator";
import { ROUTES } from "../src/contract/routes.js";
import { GATEWAY_METHODS, toOpenApiPath } from "../src/openapi.js";
import { createHarness, type Harness, HOST_TOKEN, snapshot, TOKEN } from "./helpers/harness.js";

const WRITE_METHODS = new Set(["post", "put", "patch"]);
/** Write routes that take no body (query parameters only). The probe below checks they ignore one. */
const BODYLESS_WRITES = new Set(["post /workspace/{id}/engine/reload", "post /w/{id}/engine/reload"]);
/** Registered routes that are not API operations: the host page's files. */
const NOT_OPERATIONS = [/^\/ui(\/|$)/];
/** The OpenCode gateway: a passthrough (the engine's own request and answer), documented per method. */
const isGateway = (path: string) => /\/opencode\/\{path\}$/.test(path);

type Schema = { type?: string; $ref?: string; properties?: Record<string, unknown>; $schema?: string };
type Operation = {
  operationId?: string;
  security?: Array<Record<string, string[]>>;
  parameters?: Array<{ name: string; in: string; required?: boolean }>;
  requestBody?: { required?: boolean; content?: Record<string, { schema?: Schema }> };
  responses?: Record<string, { content?: Record<string, { schema?: Schema }> }>;
};
type Doc = {
  openapi: string;
  info: { version: string };
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, { properties?: Record<string, unknown>; required?: string[] }> };
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
    assert.equal(await res.text(), text);
    assert.deepEqual(doc.paths["/openapi.json"]?.get?.security, []);
  });

  it("passes an OpenAPI 3.1 validator", async () => {
    const validator = new Validator();
    const result = await validator.validate(JSON.parse(text));
    assert.equal(validator.version, "3.1");
    assert.equal(result.valid, true, JSON.stringify(result.errors, null, 2)?.slice(0, 4000));
  });

  it("the validator is not a rubber stamp: a broken document fails it", async () => {
    const broken = JSON.parse(text);
    broken.paths["/health"].get.responses = { "200": { content: {} } }; // a response needs a description
    const result = await new Validator().validate(broken);
    assert.equal(result.valid, false);
  });

  it("documents exactly the routes the app registers, with their methods", () => {
    const registered = new Set(
      h.app.routes
        .filter((r) => r.method !== "ALL" && r.method !== "OPTIONS" && !r.path.includes("*"))
        .map((r) => `${r.method.toLowerCase()} ${toOpenApiPath(r.path)}`)
        .filter((key) => !NOT_OPERATIONS.some((pattern) => pattern.test(key.split(" ")[1]!))),
    );
    // The gateway's catch-all routes (any method) are documented per method forwarded.
    for (const r of h.app.routes) {
      if (r.method !== "ALL" || !r.path.endsWith("/opencode/*")) continue;
      for (const method of GATEWAY_METHODS) registered.add(`${method} ${toOpenApiPath(r.path.replace(/\*$/, ":path"))}`);
    }
    const documented = new Set(operations().map(({ method, path }) => `${method} ${path}`));
    assert.ok(registered.size > 40, `only ${registered.size} routes found: the filter is wrong`);
    const undocumented = [...registered].filter((r) => !documented.has(r));
    const phantom = [...documented].filter((d) => !registered.has(d));
    assert.deepEqual(undocumented, [], "registered but not in /openapi.json");
    assert.deepEqual(phantom, [], "in /openapi.json but not registered");
  });

  it("mounts every workspace route under /w/{id}", () => {
    for (const [path, methods] of Object.entries(doc.paths)) {
      if (!path.startsWith("/workspace/{id}/")) continue;
      const mounted = `/w/{id}${path.slice("/workspace/{id}".length)}`;
      for (const method of Object.keys(methods)) assert.ok(doc.paths[mounted]?.[method], `${method} ${mounted}`);
    }
  });

  it("converts Hono path patterns", () => {
    assert.equal(toOpenApiPath("/workspace/:id/plugins/:name{.+}"), "/workspace/{id}/plugins/{name}");
    assert.equal(toOpenApiPath("/a/:x{[0-9]{3}}/b/:y"), "/a/{x}/b/{y}");
  });

  it("gives every operation a unique id and every answer a real schema (no bare objects)", () => {
    const ids = operations().map(({ op }) => op.operationId);
    assert.equal(new Set(ids).size, ids.length, "operationIds are unique");
    for (const { method, path, op } of operations()) {
      const key = `${method} ${path}`;
      const success = Object.entries(op.responses ?? {}).find(([status]) => Number(status) < 300);
      assert.ok(success, `${key}: a success response`);
      const schema = success[1].content?.["application/json"]?.schema;
      if (path === "/openapi.json" || isGateway(path)) continue; // the gateway answers what the engine answers
      assert.ok(schema, `${key}: a JSON answer`);
      const resolved = schema.$ref ? doc.components.schemas[schema.$ref.split("/").pop()!] : schema;
      assert.ok(resolved, `${key}: ${schema.$ref} is a component`);
      assert.ok(resolved.properties && Object.keys(resolved.properties).length > 0, `${key}: the answer's fields are described`);
    }
  });

  it("gives every write route a JSON request body with typed fields (and no body to DELETE)", () => {
    for (const { method, path, op } of operations()) {
      const key = `${method} ${path}`;
      if (isGateway(path)) continue; // the engine's own bodies, forwarded as they are
      if (WRITE_METHODS.has(method) && !BODYLESS_WRITES.has(key)) {
        assert.equal(op.requestBody?.required, true, `${key}: requestBody`);
        const schema = op.requestBody?.content?.["application/json"]?.schema;
        assert.equal(schema?.type, "object", `${key}: JSON object schema`);
        const properties = Object.values(schema?.properties ?? {}) as Array<Record<string, unknown>>;
        assert.ok(properties.length > 0, `${key}: schema properties`);
        assert.ok(
          properties.every((p) => Object.keys(p).some((k) => ["type", "$ref", "anyOf", "enum", "const", "oneOf"].includes(k))),
          `${key}: every field has a type`,
        );
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
      const res = await h.app.request(url, {
        method: method.toUpperCase(),
        headers: { "X-OpenWork-Host-Token": HOST_TOKEN, "Content-Type": "application/json" },
        body: "{not json",
      });
      const body = (await res.json()) as { code?: string };
      if (op.requestBody) assert.deepEqual([res.status, body.code], [400, "invalid_json"], `${method} ${path} reads a body`);
      else assert.notEqual(body.code, "invalid_json", `${method} ${path} is documented without a body but parses one`);
    }
    assert.deepEqual(await snapshot(h.root), files, "the probe wrote nothing");
  });

  it("documents security as the routes enforce it: public, or a scope the client token may lack", async () => {
    for (const { method, path, op } of operations()) {
      const key = `${method} ${path}`;
      const url = path.replace("{id}", h.wsId).replace(/\{\w+\}/g, "x");
      const security = op.security;
      assert.ok(Array.isArray(security), `${key}: security is stated`);
      const anonymous = await h.app.request(url, { method: method.toUpperCase() });
      await anonymous.body?.cancel();
      if (security.length === 0) {
        assert.equal(anonymous.status, 200, `${key}: public`);
        continue;
      }
      assert.deepEqual(security, [{ bearerAuth: [] }, { hostToken: [] }], key);
      assert.equal(anonymous.status, 401, `${key}: needs a credential`);
      // The client token (a collaborator) reaches exactly the routes below the owner scope.
      const route = Object.values(ROUTES).find(
        (r) => toOpenApiPath(r.path) === path.replace(/^\/w\/\{id\}/, "/workspace/{id}") || `/w/{id}${toOpenApiPath(r.path)}` === path,
      );
      const asClient = await h.app.request(url, { method: method.toUpperCase(), headers: { Authorization: `Bearer ${TOKEN}` } });
      await asClient.body?.cancel();
      if (route?.scope === "owner") assert.equal(asClient.status, 403, `${key}: owner only`);
      else assert.notEqual(asClient.status, 401, `${key}: the client token is accepted`);
    }
  });

  it("declares path parameters and the shared error body on every 4xx/5xx", () => {
    const error = doc.components.schemas.Error!;
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
      for (const [status, response] of Object.entries(op.responses ?? {})) {
        if (Number(status) < 400) continue;
        assert.equal(response.content?.["application/json"]?.schema?.$ref, "#/components/schemas/Error", `${key} ${status}`);
      }
      if (op.security?.length) assert.ok(op.responses?.["401"], `${key}: documents 401`);
    }
  });
});
