import type * as clack from "@clack/prompts";
import { CLIENT_NAMES, type ClientName, clientInfo } from "../config/clients.js";
import type { Config, Downstream } from "../config/config.js";
import {
  AUTH_MODE_HINTS,
  AUTH_MODES,
  type AuthMode,
  DEFAULT_FEATURES,
  FEATURE_HINTS,
  FEATURES,
  type Feature,
  IDP_TYPE_LABELS,
  IDP_TYPES,
  LANGUAGE_LABELS,
  LANGUAGES,
  type Language,
} from "../config/options.js";
import type { RawAnswers } from "../config/validate.js";
import * as check from "../config/validate.js";
import { Cancelled } from "../errors.js";
import { DEFAULT_DIRECTORY } from "./resolve.js";

/** The prompts this module uses; the CLI passes @clack/prompts, unit tests a scripted fake. */
export type Prompter = Pick<typeof clack, "text" | "select" | "multiselect" | "confirm" | "note" | "isCancel">;

/**
 * Asks for every answer the flags and the config file left open, in the
 * order of the issue: where, auth mode, team, who may sign in, identity
 * providers, downstream apps, who may call which tool, MCP clients, language, optional parts. Each answer is checked by the same validator as its flag.
 */
export async function askMissing(
  p: Prompter,
  answers: RawAnswers,
  directory: string | undefined,
): Promise<{ answers: RawAnswers; directory: string }> {
  const ask = async <T>(prompt: Promise<T>): Promise<Exclude<T, symbol>> => {
    const value = await prompt;
    if (p.isCancel(value)) throw new Cancelled();
    return value as Exclude<T, symbol>;
  };
  const filled: RawAnswers = { ...answers };

  const dir =
    directory ??
    (await ask(
      p.text({
        message: "Where should the project be created?",
        placeholder: DEFAULT_DIRECTORY,
        defaultValue: DEFAULT_DIRECTORY,
        validate: (value) => (value && /[\0\n\r]/.test(value) ? "A directory name cannot contain control characters." : undefined),
      }),
    ));

  filled.auth ??= await ask(
    p.select<AuthMode>({
      message: "How should MCP clients sign in?",
      options: AUTH_MODES.map((mode) => ({ value: mode, label: mode, hint: AUTH_MODE_HINTS[mode] })),
      initialValue: "self-hosted",
    }),
  );

  if (filled.team === undefined) {
    const team = await ask(
      p.text({
        message: "Your Access team (name or https://<team>.cloudflareaccess.com)",
        placeholder: "acme — or leave empty to fill it in when you provision",
        validate: explain(check.team),
      }),
    );
    if (team) filled.team = team;
  }

  if (filled.emails === undefined && filled.domains === undefined) {
    const who = await ask(
      p.text({
        message: "Who may sign in? Emails and @domains, comma-separated",
        placeholder: "ada@example.com, @example.com — or leave empty to decide later",
        validate: explain((value) => splitWho(String(value))),
      }),
    );
    Object.assign(filled, splitWho(who ?? ""));
  }

  if (filled.idps === undefined) {
    filled.idps = await ask(
      p.multiselect<string>({
        message: "Identity providers allowed to sign in (none selected: every one your account has)",
        options: IDP_TYPES.map((type) => ({ value: type, label: IDP_TYPE_LABELS[type] })),
        required: false,
      }),
    );
  }

  filled.downstreams ??= await askDownstreams(p, ask);

  filled.tools ??= await askToolRules(p, ask, filled.downstreams);

  if (filled.clients === undefined) {
    const chosen = await ask(
      p.multiselect<ClientName>({
        message: "MCP clients that may connect (space to toggle, enter to accept)",
        options: CLIENT_NAMES.map((name) => ({ value: name, label: clientInfo(name).label })),
        initialValues: [...CLIENT_NAMES],
        required: true,
      }),
    );
    // All of them is the default: left unset, the project follows the table as clients are added.
    if (chosen.length < CLIENT_NAMES.length) filled.clients = chosen;
  }

  filled.lang ??= await ask(
    p.select<Language>({
      message: "Language of the project",
      options: LANGUAGES.map((lang) => ({ value: lang, label: LANGUAGE_LABELS[lang] })),
      initialValue: "ts",
    }),
  );

  filled.features ??= await ask(
    p.multiselect<Feature>({
      message: "Optional parts (space to toggle, enter to accept)",
      options: FEATURES.map((feature) => ({ value: feature, label: feature, hint: FEATURE_HINTS[feature] })),
      initialValues: [...DEFAULT_FEATURES],
      required: false,
    }),
  );

  return { answers: filled, directory: dir };
}

/** Zero or more downstream apps: name, URL and, optionally, the name of the app's Access application. */
async function askDownstreams(p: Prompter, ask: <T>(prompt: Promise<T>) => Promise<Exclude<T, symbol>>): Promise<Downstream[]> {
  const apps: Downstream[] = [];
  for (;;) {
    const more = await ask(
      p.confirm({
        message: apps.length
          ? "Add another downstream app?"
          : "Should the server call other Access-protected apps for the user (downstream apps)?",
        initialValue: false,
      }),
    );
    if (!more) return apps;
    const name = await ask(
      p.text({
        message: "Name of the app (the tool will be call_<name>)",
        placeholder: "wiki",
        validate: required((value) => {
          const valid = check.downstreamName(value);
          if (apps.some((app) => app.name === valid)) throw new check.InvalidValue(`${JSON.stringify(valid)} is already one of the apps`);
        }),
      }),
    );
    const url = await ask(p.text({ message: "Its base URL", placeholder: "https://wiki.example.com/api", validate: required(check.appUrl) }));
    const accessApp = await ask(
      p.text({
        message: "Its Access application's name (optional: found by the URL's host otherwise)",
        validate: explain(check.accessAppName),
      }),
    );
    apps.push({ name, url: check.appUrl(url), ...(accessApp?.trim() ? { accessApp: accessApp.trim() } : {}) });
  }
}

/**
 * Per-tool access rules, as --allow-tool values (`<tool>=<who>,…`), each answer checked by that flag's rule.
 * Left unanswered (no), every tool stays open to every signed-in user.
 */
async function askToolRules(p: Prompter, ask: <T>(prompt: Promise<T>) => Promise<Exclude<T, symbol>>, downstreams: unknown): Promise<string[] | undefined> {
  const limit = await ask(p.confirm({ message: "Limit some tools to certain people or groups?", initialValue: false }));
  if (!limit) return undefined;
  let apps: Downstream[] = [];
  try {
    apps = check.downstreams(downstreams);
  } catch {
    // Invalid apps are reported with every other problem after the questions; their tools cannot be offered.
  }
  const chosen = await ask(
    p.multiselect<string>({
      message: "Which tools? (space to toggle, enter to accept)",
      options: check.generatedTools(apps).map((tool) => ({ value: tool, label: tool })),
      required: true,
    }),
  );
  const rules: string[] = [];
  for (const tool of chosen) {
    const who = await ask(
      p.text({
        message: `Who may call ${tool}? Emails, @domains and group:names, comma-separated`,
        placeholder: "ada@example.com, @example.com, group:wiki-editors",
        validate: required((value) => check.tools([`${tool}=${value}`])),
      }),
    );
    rules.push(`${tool}=${who}`);
  }
  return rules;
}

/** Shows the validated Config and asks to go on; "no" cancels like Ctrl-C. */
export async function confirmSummary(p: Prompter, config: Config, directory: string): Promise<void> {
  p.note(summarise(config, directory), "Your MCP server");
  const go = await p.confirm({ message: "Create the project?", initialValue: true });
  if (p.isCancel(go) || !go) throw new Cancelled();
}

export function summarise(config: Config, directory: string): string {
  const who = [...config.access.emails, ...config.access.domains.map((domain) => `@${domain}`)];
  return [
    `directory  ${directory}`,
    `worker     ${config.name}`,
    `auth       ${config.auth}`,
    `language   ${LANGUAGE_LABELS[config.lang]}`,
    `team       ${config.team ?? "(set later, when you provision)"}`,
    `sign-in    ${who.length ? who.join(", ") : "(nobody yet: add emails or domains before you provision)"}`,
    `idps       ${config.access.idps.length ? config.access.idps.join(", ") : "every identity provider of the account"}`,
    `features   ${config.features.length ? config.features.join(", ") : "(none)"}`,
    `clients    ${config.clients ? config.clients.join(", ") : "every known client"}`,
    `apps       ${config.downstreams.length ? config.downstreams.map((app) => `call_${app.name} → ${app.url}`).join("\n           ") : "(no downstream apps)"}`,
    `tools      ${describeTools(config)}`,
    `audit      ${config.audit ? `on (arguments: ${config.audit.arguments})` : "off"}`,
    ...(config.rateLimit ? [`rate limit ${config.rateLimit.limit} calls per ${config.rateLimit.period} s per user`] : []),
    ...(config.template ? [`template   ${config.template}`] : []),
  ].join("\n");
}

function describeTools(config: Config): string {
  const rules = Object.entries(config.tools).map(([tool, { allow, rateLimit }]) => {
    const who = allow ? [...allow.emails, ...allow.domains.map((domain) => `@${domain}`), ...allow.groups.map((group) => `group:${group}`)].join(", ") : "everyone";
    return `${tool} → ${who}${rateLimit ? ` (${rateLimit.limit} per ${rateLimit.period} s)` : ""}`;
  });
  return rules.length ? rules.join("\n           ") : "open to everyone who signs in";
}

/** "ada@example.com, @example.com, example.org" → emails and domains, each validated. */
export function splitWho(text: string): Pick<RawAnswers, "emails" | "domains"> {
  const items = text
    .split(",")
    .map((item) => item.trim())
    .filter(Boolean);
  const emails = items.filter((item) => item.indexOf("@") > 0);
  const domains = items.filter((item) => item.indexOf("@") <= 0);
  return { emails: check.emails(emails), domains: check.emailDomains(domains) };
}

/** Like `explain`, for a question that must be answered. */
function required(validator: (value: unknown) => unknown) {
  return (value: string | undefined): string | undefined => (value?.trim() ? explain(validator)(value) : "An answer is needed here.");
}

/** Adapts a validator to clack: empty input is fine here (it means "later"), else the validator's message. */
function explain(validator: (value: unknown) => unknown) {
  return (value: string | undefined): string | undefined => {
    if (!value?.trim()) return undefined;
    try {
      validator(value);
      return undefined;
    } catch (error) {
      if (error instanceof check.InvalidValue) return error.message;
      throw error;
    }
  };
}
