// The host page: a few static files shipped in `src/ui/` (no build step), served at `/ui`
// without auth — the page asks for the host token itself and sends it on its data calls.
// Only the files named here are served, so no request path ever reaches the filesystem.
import { readFile } from "node:fs/promises";
import { type Context, Hono } from "hono";
import type { AppEnv } from "../http/env.js";

// From src/routes/ (tsx) and from dist/routes/ (built) alike this is <package root>/src/ui/:
// tsc does not copy non-TS files, so the built server reads them from the shipped src/ui.
export const UI_DIR = new URL("../../src/ui/", import.meta.url);

export const UI_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "font-src 'none'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

export const UI_ASSETS: Record<string, string> = {
  "index.html": "text/html; charset=utf-8",
  "app.js": "text/javascript; charset=utf-8",
  "app.css": "text/css; charset=utf-8",
  "devices.js": "text/javascript; charset=utf-8",
  "approval-card.js": "text/javascript; charset=utf-8",
  "grants.js": "text/javascript; charset=utf-8",
  "icon.svg": "image/svg+xml",
};

export function uiRoutes() {
  const cache = new Map<string, Promise<Buffer>>();
  const load = (name: string) => {
    let file = cache.get(name);
    if (!file) {
      file = readFile(new URL(name, UI_DIR));
      file.catch(() => cache.delete(name)); // a missing file is retried, not cached
      cache.set(name, file);
    }
    return file;
  };

  const serve = (name: string) => async (c: Context<AppEnv>) => {
    const body = await load(name);
    return c.body(new Uint8Array(body), 200, {
      "Content-Type": UI_ASSETS[name]!,
      "Content-Security-Policy": UI_CSP,
      "X-Content-Type-Options": "nosniff",
      "X-Frame-Options": "DENY",
      "Referrer-Policy": "no-referrer",
      "Cache-Control": "no-cache",
    });
  };

  const app = new Hono<AppEnv>().get("/ui", serve("index.html")).get("/ui/", serve("index.html"));
  for (const name of Object.keys(UI_ASSETS)) app.get(`/ui/${name}`, serve(name));
  return app;
}
