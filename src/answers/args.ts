import { parseArgs } from "node:util";
import { COMMANDS, type Command, type RunOptions } from "../config/command.js";
import type { Origins, RawAnswers } from "../config/validate.js";
import { UsageError } from "../errors.js";

/**
 * argv → raw answers and run options. Parsing only: values are checked by
 * config/validate.ts, together with those from the config file and prompts.
 */

export interface ParsedArgs {
  command: Command;
  directory?: string;
  answers: RawAnswers;
  origins: Origins;
  options: RunOptions;
  help: boolean;
  version: boolean;
  /** Things the user should know about how their input was read. */
  notes: string[];
}

const OPTIONS = {
  auth: { type: "string" },
  name: { type: "string" },
  team: { type: "string" },
  idp: { type: "string", multiple: true },
  "allow-email": { type: "string", multiple: true },
  "allow-domain": { type: "string", multiple: true },
  downstream: { type: "string", multiple: true },
  client: { type: "string", multiple: true },
  "allow-tool": { type: "string", multiple: true },
  "rate-limit": { type: "string" },
  audit: { type: "boolean" },
  "audit-arguments": { type: "string" },
  lang: { type: "string" },
  features: { type: "string" },
  domain: { type: "string" },
  provision: { type: "boolean" },
  deploy: { type: "boolean" },
  "account-id": { type: "string" },
  adopt: { type: "boolean", default: false },
  template: { type: "string" },
  config: { type: "string" },
  pm: { type: "string" },
  install: { type: "boolean", default: true },
  git: { type: "boolean", default: true },
  "dry-run": { type: "boolean", default: false },
  check: { type: "boolean", default: false },
  json: { type: "boolean", default: false },
  url: { type: "string" },
  force: { type: "boolean", default: false },
  yes: { type: "boolean", short: "y", default: false },
  help: { type: "boolean", short: "h", default: false },
  version: { type: "boolean", short: "v", default: false },
} as const;

/** Commands named by the first positional; anything else there is create's directory. */
const SUBCOMMANDS: ReadonlySet<string> = new Set(COMMANDS.filter((command) => command !== "create"));

type Values = ReturnType<typeof parse>["values"];

function parse(argv: string[]) {
  return parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, allowNegative: true, strict: true });
}

/** Flags whose values are answers, with the RawAnswers field each fills. */
const ANSWER_FLAGS = {
  auth: "auth",
  name: "name",
  team: "team",
  idp: "idps",
  "allow-email": "emails",
  "allow-domain": "domains",
  downstream: "downstreams",
  client: "clients",
  "allow-tool": "tools",
  "rate-limit": "rateLimit",
  lang: "lang",
  features: "features",
  domain: "domain",
  template: "template",
  "account-id": "accountId",
} as const satisfies Partial<Record<keyof typeof OPTIONS, keyof RawAnswers>>;

/** Repeatable flags that also take a comma list (`--idp github,google`). */
const COMMA_LISTS = new Set(["idp", "allow-email", "allow-domain", "client"]);

/**
 * Options npm may swallow when the user leaves out `--` (`npm create mcp-access x --auth saas`):
 * npm then exports them as `npm_config_<name>`. Only names npm has no config of its own for are
 * read, so npm's settings (yes, force, dry-run, git…) are never mistaken for our flags.
 */
const NPM_SWALLOWED = [
  ...(Object.keys(ANSWER_FLAGS) as (keyof typeof ANSWER_FLAGS)[]),
  "provision",
  "deploy",
  "adopt",
  "install",
  "pm",
  "config",
  // Not --audit: npm has a setting of that name (npm audit), so npm_config_audit is npm's own.
  "audit-arguments",
] as const;

export function parseArgv(argv: string[], env: Record<string, string | undefined> = {}): ParsedArgs {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    throw explainParseError(error as Error & { code?: string });
  }
  const values: Values & Record<string, unknown> = { ...parsed.values };
  const notes = readNpmSwallowed(argv, env, values);

  const positionals = [...parsed.positionals];
  let command: Command = "create";
  if (SUBCOMMANDS.has(positionals[0] ?? "")) command = positionals.shift() as Command;
  if (positionals.length > 1) {
    throw new UsageError(
      `Too many arguments: ${positionals.map((p) => JSON.stringify(p)).join(" ")}. ` +
        "Give one directory; options start with -- (run with --help for the list).",
    );
  }
  if (values.check && command !== "regenerate") {
    throw new UsageError("--check only applies to regenerate: run create-mcp-access regenerate --check inside the project.");
  }
  if (values.json && command !== "doctor") {
    throw new UsageError("--json only applies to doctor: run create-mcp-access doctor --json inside the project.");
  }
  if (values.url !== undefined && command !== "doctor") {
    throw new UsageError("--url only applies to doctor: run create-mcp-access doctor --url <url> inside the project.");
  }
  if (values.adopt && (command === "regenerate" || values.provision === false)) {
    throw new UsageError(
      "--adopt only applies to provisioning: run create-mcp-access provision --adopt inside the project (or create with --provision --adopt).",
    );
  }
  if (command !== "create" && positionals.length) {
    throw new UsageError(`"${command}" takes no directory: run it inside the project (got ${JSON.stringify(positionals[0])}).`);
  }

  const answers: RawAnswers = {};
  const origins: Origins = {};
  for (const [flag, field] of Object.entries(ANSWER_FLAGS) as [keyof typeof ANSWER_FLAGS, keyof RawAnswers][]) {
    const value = values[flag];
    if (value === undefined) continue;
    answers[field] = COMMA_LISTS.has(flag) ? (value as string[]).flatMap(splitCommaList) : value;
    origins[field] = `--${flag}`;
  }
  const audit = auditAnswer(values.audit, values["audit-arguments"]);
  if (audit) [answers.audit, origins.audit] = audit;

  return {
    command,
    directory: positionals[0],
    answers,
    origins,
    options: {
      provision: values.provision,
      deploy: values.deploy,
      adopt: values.adopt ?? false,
      configFile: values.config,
      pm: values.pm,
      install: values.install ?? true,
      git: values.git ?? true,
      dryRun: values["dry-run"] ?? false,
      check: values.check ?? false,
      force: values.force ?? false,
      yes: values.yes ?? false,
      json: values.json ?? false,
      ...(values.url === undefined ? {} : { url: values.url }),
    },
    help: values.help ?? false,
    version: values.version ?? false,
    notes,
  };
}

/**
 * --no-audit, --audit and --audit-arguments are one answer, `audit`, as in mcp-access.json:
 * false, true, or { arguments }. Turning it off and choosing what it records contradict each other.
 */
function auditAnswer(on: boolean | undefined, args: string | undefined): [unknown, string] | undefined {
  if (on === false && args !== undefined) {
    throw new UsageError("--no-audit turns the audit log off, so --audit-arguments has nothing to apply to: give one of them.");
  }
  if (args !== undefined) return [{ arguments: args }, "--audit-arguments"];
  if (on !== undefined) return [on, on ? "--audit" : "--no-audit"];
  return undefined;
}

function splitCommaList(value: string): string[] {
  return value
    .split(",")
    .map((item) => item.trim())
    .filter(Boolean);
}

function readNpmSwallowed(argv: string[], env: Record<string, string | undefined>, values: Record<string, unknown>) {
  const notes: string[] = [];
  for (const flag of NPM_SWALLOWED) {
    const raw = env[`npm_config_${flag.replaceAll("-", "_")}`];
    const given = argv.some((arg) => arg === `--${flag}` || arg === `--no-${flag}` || arg.startsWith(`--${flag}=`));
    if (raw === undefined || given) continue;
    const spec = OPTIONS[flag];
    let value: unknown;
    if (spec.type === "boolean") value = raw !== "" && raw !== "false";
    else if (raw === "") continue;
    else value = "multiple" in spec ? [raw] : raw;
    values[flag] = value;
    const shown = spec.type === "boolean" ? (value ? `--${flag}` : `--no-${flag}`) : `--${flag} ${raw}`;
    notes.push(
      `Read ${shown} from npm_config_${flag.replaceAll("-", "_")}: npm took the option for itself. ` +
        `Put -- before options next time: npm create mcp-access@latest my-server -- ${shown}`,
    );
  }
  return notes;
}

function explainParseError(error: Error & { code?: string }): Error {
  const hint = "Run create-mcp-access --help to see every option.";
  if (error.code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") {
    const option = /'([^']+)'/.exec(error.message)?.[1] ?? "";
    const suggestion = closestOption(option);
    return new UsageError(
      `Unknown option ${JSON.stringify(option)}.${suggestion ? ` Did you mean --${suggestion}?` : ""} ${hint}`,
    );
  }
  if (error.code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") {
    // Node's message already names the option and what it expects.
    return new UsageError(`${error.message.replace(/\.$/, "")}. ${hint}`);
  }
  return error;
}

function closestOption(option: string): string | undefined {
  const name = option.replace(/^-+/, "").split("=")[0] ?? "";
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of Object.keys(OPTIONS)) {
    const distance = editDistance(name, candidate);
    if (distance < bestDistance) [best, bestDistance] = [candidate, distance];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}
