import { CONFIG_FILE_VERSION } from "../config/config.js";
import { show, type Origins, type RawAnswers } from "../config/validate.js";
import { UsageError } from "../errors.js";
import type { FileSystem } from "../fs.js";

/**
 * Reads answers from a file in the `mcp-access.json` format. Only the shape is
 * checked here (known keys, right nesting); values are validated with the
 * flags' and prompts' in config/validate.ts. Keys are matched as the object's
 * own: `constructor`, `toString` or (JSON.parse makes it an own key) `__proto__`
 * are unknown keys like any other, never something found on Object.prototype.
 */
export async function readConfigFile(
  fs: FileSystem,
  path: string,
): Promise<{ answers: RawAnswers; origins: Origins }> {
  let text: string;
  try {
    text = await fs.readFile(path, "utf8");
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (error as Error).message;
    throw new UsageError(`Cannot read the config file ${show(path)}: ${reason}. Give the path of an mcp-access.json file.`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`The config file ${show(path)} is not valid JSON: ${(error as Error).message}.`);
  }
  return parseConfigObject(data, path);
}

const TOP_LEVEL = new Set([
  "$schema",
  "version",
  "name",
  "auth",
  "team",
  "access",
  "downstreams",
  "clients",
  "tools",
  "rateLimit",
  "audit",
  "lang",
  "features",
  "domain",
  "template",
  "accountId",
  "provisioned",
]);
const ACCESS_KEYS = ["emails", "domains", "idps"] as const;

export function parseConfigObject(data: unknown, path: string): { answers: RawAnswers; origins: Origins } {
  const where = (key: string) => `${JSON.stringify(key)} in ${path}`;
  const problems: string[] = [];
  if (!isObject(data)) throw new UsageError(`The config file ${show(path)} must hold a JSON object.`);
  for (const key of Object.keys(data)) {
    if (!TOP_LEVEL.has(key)) problems.push(`${where(key)}: unknown key (known: ${[...TOP_LEVEL].join(", ")})`);
  }
  if (Object.hasOwn(data, "version") && data.version !== undefined && data.version !== CONFIG_FILE_VERSION) {
    problems.push(
      `${where("version")}: ${show(data.version)} is not a version this generator reads (${CONFIG_FILE_VERSION}); upgrade create-mcp-access`,
    );
  }
  const answers: RawAnswers = {};
  const origins: Origins = {};
  for (const key of ["name", "auth", "team", "downstreams", "clients", "tools", "rateLimit", "audit", "lang", "features", "domain", "template", "accountId", "provisioned"] as const) {
    if (!Object.hasOwn(data, key) || data[key] === undefined) continue;
    answers[key] = data[key];
    origins[key] = where(key);
  }
  if (Object.hasOwn(data, "access") && data.access !== undefined) {
    const access = data.access;
    if (!isObject(access)) {
      problems.push(`${where("access")}: must be an object with "emails", "domains" and "idps" lists`);
    } else {
      for (const key of Object.keys(access)) {
        if (!(ACCESS_KEYS as readonly string[]).includes(key)) problems.push(`${where(`access.${key}`)}: unknown key (known: ${ACCESS_KEYS.join(", ")})`);
      }
      for (const key of ACCESS_KEYS) {
        if (!Object.hasOwn(access, key) || access[key] === undefined) continue;
        answers[key] = access[key];
        origins[key] = where(`access.${key}`);
      }
    }
  }
  if (problems.length) throw new UsageError(`The config file ${show(path)} has problems:`, problems);
  return { answers, origins };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
