// Generates a realistic workspace for benchmarks: many skills and commands, plugins and MCP servers.
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";

export interface WorkspaceShape {
  skills: number;
  commands: number;
  plugins: number;
  mcp: number;
}

/** A SKILL.md of a realistic size (about 1.2 KB). */
export function skillText(name: string, description: string): string {
  return `---\nname: ${name}\ndescription: ${description}\n---\n\n# ${name}\n\n${"Step by step instructions. ".repeat(40)}\n`;
}

export async function generateWorkspace(root: string, shape: WorkspaceShape): Promise<void> {
  await mkdir(join(root, ".git"), { recursive: true }); // stops the skill walk at the workspace
  const mcp: Record<string, unknown> = {};
  for (let i = 0; i < shape.mcp; i++) {
    mcp[`server-${i}`] =
      i % 2 === 0
        ? { type: "local", command: ["node", `server-${i}.js`], enabled: i % 4 !== 0, environment: { LEVEL: String(i) } }
        : { type: "remote", url: `http://127.0.0.1:${9000 + i}/mcp`, headers: { "X-Index": String(i) } };
  }
  const config = {
    $schema: "https://opencode.ai/config.json",
    model: "anthropic/claude-sonnet-4",
    plugin: Array.from({ length: shape.plugins }, (_, i) => `opencode-plugin-${i}@1.${i}.0`),
    mcp,
    tools: { deny: ["mcp.server-3", "mcp:server-5:*"] },
  };
  await writeFile(join(root, "opencode.jsonc"), `// generated for the benchmark\n${JSON.stringify(config, null, 2)}\n`);

  const writes: Promise<void>[] = [];
  for (let i = 0; i < shape.skills; i++) {
    const name = `skill-${i}`;
    const dir = join(root, ".opencode", "skills", name);
    writes.push(
      mkdir(dir, { recursive: true }).then(() =>
        writeFile(join(dir, "SKILL.md"), skillText(name, `Skill number ${i}, which explains how to do task ${i} well.`)),
      ),
    );
    if (writes.length >= 200) await Promise.all(writes.splice(0));
  }
  await mkdir(join(root, ".opencode", "commands"), { recursive: true });
  for (let i = 0; i < shape.commands; i++) {
    writes.push(
      writeFile(
        join(root, ".opencode", "commands", `command-${i}.md`),
        `---\ndescription: Command ${i}\nagent: build\nsubtask: ${i % 2 === 0}\n---\nRun the checks for part ${i} and report. $ARGUMENTS\n`,
      ),
    );
    if (writes.length >= 200) await Promise.all(writes.splice(0));
  }
  await mkdir(join(root, ".opencode", "plugins"), { recursive: true });
  for (let i = 0; i < Math.min(shape.plugins, 10); i++) {
    writes.push(writeFile(join(root, ".opencode", "plugins", `local-${i}.js`), "export const Plugin = async () => ({})\n"));
  }
  await Promise.all(writes);
}
