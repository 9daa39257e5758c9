import type { ParsedArgs } from "../answers/args.js";
import { CONFIG_FILE_NAME } from "../config/config.js";
import { FLAG_OF, isLoopbackHost } from "../config/validate.js";
import { ExitCode, UsageError } from "../errors.js";
import type { FileSystem } from "../fs.js";
import { anyFailed } from "../doctor/checks.js";
import { type DoctorIo, runDoctor } from "../doctor/doctor.js";
import { jsonReport, textReport } from "../doctor/report.js";
import { Redactor } from "../provision/redact.js";
import type { Ui } from "../ui.js";
import { accountFlag, createFlags } from "./provision.js";
import { readProjectConfig } from "./regenerate.js";

export interface DoctorDeps {
  cwd: string;
  env: Record<string, string | undefined>;
  fs: FileSystem;
  ui: Ui;
  print: (text: string) => void;
  /** The generator's version, sent in the User-Agent. */
  version?: string;
  /** Tests: the network and the API to use instead of the real ones. */
  probe?: DoctorIo["probe"];
  api?: DoctorIo["api"];
}

/**
 * `create-mcp-access doctor` (SPEC §10), in a project's root: what is wrong
 * with the deployment, in the order a user would check it, each finding with
 * its fix. Exit 0 when all is well, 1 when a check failed, 2 for bad input.
 * It changes nothing: the network sees four requests, the API only reads.
 */
export async function doctorCommand(args: ParsedArgs, deps: DoctorDeps): Promise<number> {
  rejectOtherOptions(args);
  for (const note of args.notes) deps.ui.warn(note);
  const url = args.options.url === undefined ? undefined : serverOrigin(args.options.url);
  const flagAccount = accountFlag(args);
  const config = await readProjectConfig(deps.fs, deps.cwd, "doctor");

  const run = await runDoctor(config, { ...(url ? { url } : {}), ...(flagAccount ? { accountId: flagAccount } : {}) }, {
    env: deps.env,
    version: deps.version ?? "0",
    ...(deps.probe ? { probe: deps.probe } : {}),
    ...(deps.api ? { api: deps.api } : {}),
  });
  const subject = { name: config.name, auth: config.auth, ...(run.url ? { url: run.url } : {}) };
  // Nothing doctor prints holds the token on purpose; an API error quoting it is masked all the same.
  const redactor = new Redactor();
  redactor.add(deps.env.CLOUDFLARE_API_TOKEN?.trim());
  deps.print(redactor.redact(args.options.json ? jsonReport(subject, run.checks) : textReport(subject, run.checks)));
  return anyFailed(run.checks) ? ExitCode.failure : ExitCode.ok;
}

/**
 * `--url`: the origin of the server to check, https, or http on a loopback
 * host (`npm run dev`). The MCP endpoint's own URL (`…/mcp`) is taken too.
 * Anything else is refused before any request: doctor must not be aimed at
 * an arbitrary host over plain http, nor carry credentials or a query.
 */
export function serverOrigin(value: string): string {
  const refuse = (why: string) =>
    new UsageError(`Invalid input: --url ${JSON.stringify(value)} ${why}. Give the server's address, e.g. --url https://my-server.acme.workers.dev, or --url http://127.0.0.1:8787 for npm run dev.`);
  if (!URL.canParse(value)) throw refuse("is not a URL");
  const url = new URL(value);
  if (url.protocol !== "https:" && !(url.protocol === "http:" && isLoopbackHost(url.hostname))) {
    throw refuse("must use https:// (http:// only on this machine: localhost, 127.0.0.1 or [::1])");
  }
  if (url.username || url.password) throw refuse("must not contain a user name or password");
  if (url.search || url.hash) throw refuse("must not have a query or fragment");
  if (!["", "/", "/mcp", "/mcp/"].includes(url.pathname)) throw refuse("must be the server's origin (or its /mcp endpoint), with no other path");
  return url.origin;
}

/** doctor reads the project from mcp-access.json; an answer given as a flag would describe some other project. */
function rejectOtherOptions(args: ParsedArgs): void {
  const { options } = args;
  const flags = [
    ...createFlags(args).filter((flag) => flag !== (args.origins.accountId ?? FLAG_OF.accountId)),
    ...(options.deploy !== undefined ? ["--deploy/--no-deploy"] : []),
    ...(options.dryRun ? ["--dry-run"] : []),
  ];
  if (!flags.length) return;
  throw new UsageError(
    `doctor checks the project described by ${CONFIG_FILE_NAME} and changes nothing, so it does not take ${flags.join(", ")}. ` +
      "Options it accepts: --url, --json, --account-id.",
  );
}
