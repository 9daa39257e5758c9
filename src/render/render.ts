import HandlebarsRuntime from "handlebars/runtime";
import { type ParseError, parse as parseJsonc, printParseErrorCode } from "jsonc-parser";
import { CLIENT_NAMES, clientInfo, isClientName, managedOAuthAllowlist } from "../config/clients.js";
import { CONFIG_FILE_NAME, CONFIG_SCHEMA_PATH, type Config, toConfigFile } from "../config/config.js";
import type { PackageManager } from "../config/options.js";
import { UsageError } from "../errors.js";
import { COMMANDS, LOCK_FILES, runScript, TESTED_RELEASES } from "../steps/package-manager.js";
import { compileOptions, HELPERS } from "./compile.js";
import { included } from "./conditions.js";
import { governanceView } from "./governance-view.js";
import { jsonLiteral, markdownCode, markdownText, scriptJsonLiteral } from "./escape.js";
import { JS_TEMPLATES_DIR } from "./js-twins.js";
import type { ManifestEntry } from "./manifest.js";
import type { TemplateSet } from "./templates.js";
import { tidy } from "./tidy.js";

/** The files of a project: path → contents. */
export type FileMap = Map<string, string>;

export interface RenderMeta {
  generatorVersion: string;
  /** The package manager the project is installed with (default npm): its files and commands are rendered. */
  packageManager?: PackageManager;
}

/** Placeholder values the generated Worker recognises as "not configured" and refuses to run with. */
export const PLACEHOLDER_TEAM_DOMAIN = "https://<your-team>.cloudflareaccess.com";
export const PLACEHOLDER_POLICY_AUD = "<your-access-app-aud>";
/** An all-zero KV id: `wrangler dev` simulates the namespace locally; provisioning writes the real one. */
export const PLACEHOLDER_KV_NAMESPACE_ID = "00000000000000000000000000000000";

/** "" for a template the set has only compiled (a bundled JavaScript twin): compile never reads it. */
function precompiledOnly(templates: TemplateSet, template: string): string | undefined {
  return templates.precompiled.templates.has(template) ? "" : undefined;
}

/**
 * Config → files. Pure: no I/O, same input → same output. Every file that is
 * JSON or JSONC is parsed before it is returned, so a template bug or an
 * escaping gap fails here, not in the user's project.
 */
export function render(config: Config, templates: TemplateSet, meta: RenderMeta): FileMap {
  // Precompiled templates need only the runtime; the compiler comes with the template set when one is not.
  const { precompiled, compiler } = templates;
  const handlebars = (compiler ?? HandlebarsRuntime).create();
  const helpers: Record<(typeof HELPERS)[number], Handlebars.HelperDelegate> = {
    json: (value: unknown) => jsonLiteral(value),
    scriptJson: (value: unknown) => scriptJsonLiteral(value),
    md: (value: unknown) => markdownText(value),
    code: (value: unknown) => markdownCode(value),
    eq: (a: unknown, b: unknown) => a === b,
  };
  handlebars.registerHelper(helpers);
  for (const [name, spec] of precompiled.partials) handlebars.registerPartial(name, handlebars.template(spec));
  for (const [name, source] of templates.partials) if (!precompiled.partials.has(name)) handlebars.registerPartial(name, source);
  const compile = (template: string, source: string) => {
    const spec = precompiled.templates.get(template);
    if (spec) return handlebars.template(spec);
    if (!compiler) throw new Error(`template ${template} is not precompiled and the template set has no compiler`);
    return handlebars.compile(source, compileOptions());
  };
  const view = viewOf(config, meta);
  const files: FileMap = new Map();
  for (const entry of templates.files) {
    if (!included(entry, config, meta.packageManager ?? "npm")) continue;
    const source = templates.sources.get(entry.template) ?? (entry.raw ? undefined : precompiledOnly(templates, entry.template));
    if (source === undefined) {
      const twin = entry.template.startsWith(`${JS_TEMPLATES_DIR}/`)
        ? ` (the JavaScript version of a TypeScript template, which the build of create-mcp-access makes: this template set has none; use --lang ts)`
        : "";
      throw new Error(`template ${entry.template} is listed but was not loaded${twin}`);
    }
    const text = entry.raw ? source : templateProblem(templates, entry, () => tidy(compile(entry.template, source)(view)));
    templateProblem(templates, entry, () => assertParses(entry.path, text));
    files.set(entry.path, text);
  }
  files.set(CONFIG_FILE_NAME, `${JSON.stringify(toConfigFile(config), null, 2)}\n`);
  files.set(CONFIG_SCHEMA_PATH, templates.schema);
  for (const path of [CONFIG_FILE_NAME, CONFIG_SCHEMA_PATH]) assertParses(path, files.get(path)!);
  return files;
}

/**
 * Runs one step of rendering `entry`. In the bundled templates a failure is a bug; in a template
 * from `--template` it is that template's problem (a name not in the view, a helper that does not
 * exist, JSON that does not parse): exit 2, naming the source, the file and the line.
 */
function templateProblem<T>(templates: TemplateSet, entry: ManifestEntry, step: () => T): T {
  try {
    return step();
  } catch (error) {
    if (!templates.origin || !(error instanceof Error)) throw error;
    const located = /^(.*) - (\d+):\d+$/s.exec(error.message);
    const what = located ? `line ${located[2]}: ${located[1]}` : error.message;
    throw new UsageError(`The template ${templates.origin} failed to render ${entry.path}. Fix the template (docs/templates.md in create-mcp-access lists what a template sees):`, [
      `${entry.template}: ${what}`,
    ]);
  }
}

/**
 * What templates see. Every key is always present (Handlebars runs in strict
 * mode, so a misspelt name is an error, not an empty string).
 */
function viewOf(config: Config, meta: RenderMeta) {
  const host = workerHost(config) ?? `${config.name}.<your-subdomain>.workers.dev`;
  const { provisioned = {} } = config;
  const allowlist = managedOAuthAllowlist(config.clients ?? CLIENT_NAMES);
  return {
    name: config.name,
    auth: config.auth,
    selfHosted: config.auth === "self-hosted",
    saas: config.auth === "saas",
    teamDomain: config.team ?? PLACEHOLDER_TEAM_DOMAIN,
    teamKnown: config.team !== undefined,
    policyAud: (config.auth === "self-hosted" && provisioned.accessApp?.aud) || PLACEHOLDER_POLICY_AUD,
    kvNamespaceId: (config.auth === "saas" && provisioned.kvNamespaceId) || PLACEHOLDER_KV_NAMESPACE_ID,
    access: config.access,
    downstreams: config.downstreams,
    clients: clientsToConnect(config, `https://${host}/mcp`),
    clientCallbacks: allowlist.allowedUris,
    clientLoopback: allowlist.loopback,
    ...governanceView(config),
    ts: config.lang === "ts",
    /** The extension of the project's source files. */
    ext: config.lang,
    js: config.lang === "js",
    features: Object.fromEntries(["tests", "ci", "lint", "examples"].map((f) => [f, config.features.includes(f as never)])),
    domain: config.domain ?? null,
    zoneName: customDomainZone(config) ?? null,
    host,
    mcpUrl: `https://${host}/mcp`,
    generatorVersion: meta.generatorVersion,
    ...packageManagerView(meta.packageManager ?? "npm"),
  };
}

/**
 * How the project's texts say to install and run things: `{{run}} dev{{runArgs}} --port 8788`.
 * Flat names, like the rest of the view: each is one lookup in the precompiled templates.
 */
function packageManagerView(pm: PackageManager) {
  const { run, args, exec, ciInstall } = COMMANDS[pm];
  return {
    packageManager: pm,
    npm: pm === "npm",
    ciInstall,
    run,
    runArgs: args,
    /** npm's own shorthand where it has one; `bun test` would be bun's test runner, so not that. */
    runTest: pm === "npm" ? "npm test" : runScript(pm, "test"),
    exec,
    lockFile: LOCK_FILES[pm][0]!,
    /** What CI installs the package manager with (npm comes with Node). */
    packageManagerRelease: pm === "npm" ? null : TESTED_RELEASES[pm],
  };
}

/**
 * The README's "Connect a client" list: each chosen client's name and how to add the server to it,
 * from KNOWN_CLIENTS (one table for this and for provision's allowlist). An app of the user's own is
 * listed by its redirect URI. Continuation lines are indented to stay inside the list item.
 */
function clientsToConnect(config: Config, mcpUrl: string): { label: string; connect: string }[] {
  return (config.clients ?? CLIENT_NAMES).map((choice) => {
    if (!isClientName(choice)) {
      return { label: "Your app", connect: `signs in with the redirect URI \`${markdownCode(choice)}\`; give it \`${markdownCode(mcpUrl)}\`.` };
    }
    const { label, connect } = clientInfo(choice);
    const text = connect
      .replace(/\{json:(name|url)\}/g, (_, key: string) => jsonLiteral(key === "name" ? config.name : mcpUrl))
      .replace(/\{(name|url)\}/g, (_, key: string) => markdownCode(key === "name" ? config.name : mcpUrl));
    return { label, connect: text.replace(/\n(?=.)/g, "\n  ") };
  });
}

/** Where the Worker serves: the custom domain, or its workers.dev host once the subdomain is known. */
export function workerHost(config: Config): string | undefined {
  if (config.domain) return config.domain;
  const subdomain = config.provisioned?.workersSubdomain;
  return subdomain ? `${config.name}.${subdomain}.workers.dev` : undefined;
}

/**
 * The zone of the custom domain, once provision has found it for this very host. wrangler then names
 * it in the route instead of leaving the API to infer it, which it has been known to refuse (10082,
 * "Can't infer zone from route"). A zone found for a host the project no longer uses says nothing.
 */
function customDomainZone(config: Config): string | undefined {
  const found = config.provisioned?.customDomain;
  return found && found.hostname === config.domain ? found.zone : undefined;
}

function assertParses(path: string, text: string): void {
  // tsconfig.json and jsconfig.json are JSONC: comments are allowed in them.
  const jsonc = path.endsWith(".jsonc") || /(^|\/)[tj]sconfig\.json$/.test(path);
  if (path.endsWith(".json") && !jsonc) {
    JSON.parse(text);
  } else if (jsonc) {
    const errors: ParseError[] = [];
    parseJsonc(text, errors, { allowTrailingComma: false });
    if (errors.length) {
      throw new Error(`rendered ${path} is not valid JSONC: ${printParseErrorCode(errors[0]!.error)} at offset ${errors[0]!.offset}`);
    }
  }
}
