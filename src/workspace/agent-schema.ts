// What OpenCode 1.18 accepts in an agent (a Markdown file's frontmatter, or an entry of the
// config's `agent` map). Measured on the real engine: a known key of the wrong type, or null,
// makes it answer 400 ConfigInvalidError for the whole directory, and it stays broken after the
// file is fixed until the engine restarts (even `/instance/dispose` answers 400). Unknown keys are
// ignored, so they are kept. A file's `name:` key renames the agent. No I/O here.

export const AGENT_MODES = ["primary", "subagent", "all"] as const;
export const PERMISSION_ACTIONS = ["ask", "allow", "deny"] as const;
export const AGENT_COLORS = ["primary", "secondary", "accent", "success", "warning", "error", "info"] as const;

export interface AgentProblem {
  /** Dotted path of the offending field, e.g. `tools.bash`. */
  field: string;
  message: string;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Date);

const describe = (v: unknown) =>
  v === null ? "null" : v instanceof Date ? "a date" : Array.isArray(v) ? "an array" : `${typeof v} ${JSON.stringify(v)?.slice(0, 40)}`;

type Check = (value: unknown, field: string) => AgentProblem | null;

const string: Check = (v, field) => (typeof v === "string" ? null : { field, message: `${field} must be a string, not ${describe(v)}` });
const boolean: Check = (v, field) =>
  typeof v === "boolean" ? null : { field, message: `${field} must be true or false, not ${describe(v)}` };
const finiteNumber: Check = (v, field) =>
  typeof v === "number" && Number.isFinite(v) ? null : { field, message: `${field} must be a finite number, not ${describe(v)}` };
const object: Check = (v, field) => (isPlainObject(v) ? null : { field, message: `${field} must be an object, not ${describe(v)}` });
const oneOf =
  (values: readonly string[]): Check =>
  (v, field) =>
    typeof v === "string" && values.includes(v)
      ? null
      : { field, message: `${field} must be one of ${values.join(", ")}, not ${describe(v)}` };

const action = oneOf(PERMISSION_ACTIONS);

const tools: Check = (v, field) => {
  if (!isPlainObject(v)) return object(v, field);
  for (const [key, value] of Object.entries(v)) {
    const problem = boolean(value, `${field}.${key}`);
    if (problem) return problem;
  }
  return null;
};

/** `ask|allow|deny`, or `{ tool: action | { pattern: action } }`. */
const permission: Check = (v, field) => {
  if (typeof v === "string") return action(v, field);
  if (!isPlainObject(v)) return { field, message: `${field} must be ask, allow, deny or an object, not ${describe(v)}` };
  for (const [tool, rule] of Object.entries(v)) {
    if (isPlainObject(rule)) {
      for (const [pattern, value] of Object.entries(rule)) {
        const problem = action(value, `${field}.${tool}.${pattern}`);
        if (problem) return problem;
      }
    } else {
      const problem = action(rule, `${field}.${tool}`);
      if (problem) return problem;
    }
  }
  return null;
};

const color: Check = (v, field) =>
  typeof v === "string" && (/^#[0-9a-fA-F]{6}$/.test(v) || (AGENT_COLORS as readonly string[]).includes(v))
    ? null
    : { field, message: `${field} must be #rrggbb or one of ${AGENT_COLORS.join(", ")}, not ${describe(v)}` };

/** The keys the engine types; every other key is ignored by it (and kept by us). */
export const AGENT_FIELD_CHECKS: Record<string, Check> = {
  description: string,
  mode: oneOf(AGENT_MODES),
  model: string,
  variant: string,
  prompt: string,
  temperature: finiteNumber,
  top_p: finiteNumber,
  steps: finiteNumber,
  maxSteps: finiteNumber,
  tools,
  permission,
  options: object,
  color,
  disable: boolean,
  hidden: boolean,
};

/**
 * The first problem that would make the engine refuse the directory, or null. `prefix` names
 * where the agent lives in messages (e.g. `agent.review` for a config entry).
 */
export function agentFieldProblem(data: Record<string, unknown>, prefix = ""): AgentProblem | null {
  for (const [key, check] of Object.entries(AGENT_FIELD_CHECKS)) {
    if (!Object.hasOwn(data, key)) continue;
    const value = data[key];
    const field = prefix ? `${prefix}.${key}` : key;
    if (value === null || value === undefined) return { field, message: `${field} must not be null (leave the key out instead)` };
    const problem = check(value, field);
    if (problem) return problem;
  }
  return null;
}

/** Problems of the config's `agent` map, in the words engineConfigProblems uses. */
export function agentMapProblems(agents: unknown): string[] {
  if (!isPlainObject(agents)) return ["agent must be an object"];
  const problems: string[] = [];
  for (const [name, entry] of Object.entries(agents)) {
    if (!isPlainObject(entry)) {
      problems.push(`agent.${name} must be an object`);
      continue;
    }
    const problem = agentFieldProblem(entry, `agent.${name}`);
    if (problem) problems.push(problem.message);
  }
  return problems;
}
