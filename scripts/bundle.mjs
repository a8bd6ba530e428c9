#!/usr/bin/env node
// Bundles the CLI into one file (dist/cli.js, over the one tsc wrote) with esbuild, so starting
// the server reads one module instead of a few hundred: measured here, module loading was most of
// the time to the first `/health` answer (about 350 of 600 ms), and one file also takes ~10 MiB
// less memory. The rest of dist/ stays as tsc wrote it (the library entry points).
//
// `import.meta.url` in our sources is rewritten to the URL the unbundled file would have in dist/
// (`dist/routes/ui.js`, ...), so paths built from it (package.json, the host page's files) still
// resolve the same way from the bundle.
import { readFile } from "node:fs/promises";
import { relative } from "node:path";
import { build } from "esbuild";

const root = new URL("..", import.meta.url).pathname;
const src = `${root}src/`;

/** @type {import("esbuild").Plugin} */
const importMetaUrlAsInDist = {
  name: "import-meta-url-as-in-dist",
  setup(b) {
    b.onLoad({ filter: /\/src\/.*\.ts$/ }, async (args) => {
      const text = await readFile(args.path, "utf8");
      if (!text.includes("import.meta.url")) return { contents: text, loader: "ts" };
      const asInDist = `./${relative(src, args.path).replace(/\.ts$/, ".js")}`;
      return { contents: text.replaceAll("import.meta.url", `new URL(${JSON.stringify(asInDist)}, import.meta.url).href`), loader: "ts" };
    });
  },
};

await build({
  entryPoints: [`${src}cli.ts`],
  outfile: `${root}dist/cli.js`,
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  // ESM builds of dependencies where they ship one (jsonc-parser's UMD build cannot be bundled).
  mainFields: ["module", "main"],
  // Bundled CommonJS dependencies call require() for Node's own modules.
  banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
  sourcemap: true,
  plugins: [importMetaUrlAsInDist],
  logLevel: "warning",
});
