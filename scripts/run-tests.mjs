#!/usr/bin/env node
// Runs every test/**/*.test.ts with node:test through tsx.
// Node 20's --test does not expand globs or pick up .ts files itself, so we list them here.
// Usage: node scripts/run-tests.mjs [filter...]   (filters match against the file path)
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const filters = process.argv.slice(2);

function collect(dir) {
  const out = [];
  for (const entry of readdirSync(dir)) {
    if (entry === "node_modules" || entry === "artifacts" || entry.startsWith(".")) continue;
    const full = join(dir, entry);
    if (statSync(full).isDirectory()) out.push(...collect(full));
    else if (entry.endsWith(".test.ts")) out.push(relative(root, full));
  }
  return out;
}

const files = collect(join(root, "test"))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();
if (files.length === 0) {
  console.error("no test files matched");
  process.exit(1);
}
// The browser tests drive Debian's chromium. Install it when missing and we may (root with apt),
// so `npm test` works on a fresh machine; otherwise the browser test explains what to install.
const CHROMIUM = "/usr/bin/chromium";
if (files.some((f) => f.includes("browser")) && !existsSync(CHROMIUM)) {
  if (process.getuid?.() === 0 && existsSync("/usr/bin/apt-get")) {
    console.log("Installing Debian's chromium for the browser tests...");
    const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
    spawnSync("apt-get", ["update"], { stdio: "inherit", env });
    spawnSync("apt-get", ["install", "-y", "chromium"], { stdio: "inherit", env });
  } else {
    console.warn(`${CHROMIUM} is missing: install Debian's chromium (apt-get install chromium) for the browser tests.`);
  }
}

// Every JSON answer the tests receive is checked against its operation's schema (src/http/route.ts),
// in-process and in the child servers alike: an undocumented answer fails the test that saw it.
const child = spawn(process.execPath, ["--import", "tsx", "--test", "--test-reporter=spec", ...files], {
  cwd: root,
  stdio: "inherit",
  env: { ...process.env, OPENWORK_VALIDATE_RESPONSES: "1" },
});
child.on("exit", (code, signal) => process.exit(signal ? 1 : (code ?? 1)));
