import * as fsp from "node:fs/promises";
import { createFsFromVolume, Volume } from "memfs";
import { join } from "node:path";
import { parseArgv } from "../../src/answers/args.js";
import { create } from "../../src/commands/create.js";
import { provisionCommand } from "../../src/commands/provision.js";
import { type Config, DEFAULT_AUDIT } from "../../src/config/config.js";
import type { FileSystem } from "../../src/fs.js";
import { loadTemplates, type TemplateSet } from "../../src/render/templates.js";
import type { Ui } from "../../src/ui.js";
import { type FakeApi, fakeDeployer } from "./fake-api.js";
import { repoRoot } from "./processes.js";

/** The smallest valid Config: a self-hosted TypeScript project named srv, nothing optional; `more` overrides. */
export function configWith(more: Partial<Config> = {}): Config {
  return { name: "srv", auth: "self-hosted", access: { emails: [], domains: [], idps: [] }, downstreams: [], tools: {}, audit: DEFAULT_AUDIT, lang: "ts", features: [], ...more };
}

/** What render() is told about the generator in tests. */
export const renderMeta = { generatorVersion: "0.1.0" };

/** This repository's templates, as the CLI loads them (`only`: just what this config renders). */
export function repoTemplates(only?: Config): Promise<TemplateSet> {
  return loadTemplates(fsp as unknown as FileSystem, join(repoRoot, "templates"), join(repoRoot, "schema", "mcp-access.schema.json"), { only });
}

/** A UI that prints nothing and keeps every line it was given, in order, for assertions; `steps` records step labels too. */
export function recordingUi(said: string[], options: { steps?: boolean } = {}): Ui {
  return {
    intro: () => {},
    info: (message) => said.push(message),
    warn: (message) => said.push(`warn: ${message}`),
    success: (message) => said.push(message),
    note: (message, title) => said.push(`${title}:\n${message}`),
    error: (message) => said.push(`error: ${message}`),
    step: (label, work) => {
      if (options.steps) said.push(label);
      return work();
    },
    outro: (message) => said.push(message),
  };
}

/**
 * A project made by `create` in memory: `/work/srv` from `argv` (answers only: the directory,
 * --no-install and --no-git are added). The volume is returned for assertions.
 */
export async function createdInMemory(argv: string[], templates: TemplateSet, ui: Ui): Promise<{ volume: Volume; fs: FileSystem; root: string }> {
  const volume = Volume.fromJSON({ "/work/.keep": "" }, "/");
  const fs = createFsFromVolume(volume).promises as unknown as FileSystem;
  await create(parseArgv(["srv", ...argv, "--no-install", "--no-git"]), {
    cwd: "/work",
    env: {},
    fs,
    exec: async () => ({ code: 0, output: "" }),
    ui,
    loadTemplates: async () => templates,
    generatorVersion: renderMeta.generatorVersion,
  });
  return { volume, fs, root: "/work/srv" };
}

/**
 * `provision` (its argv after the command) for a project `createdInMemory`, against the unit fake
 * of the API, with fakeDeployer for wrangler: no process is ever started.
 */
export function provisionInMemory(project: { fs: FileSystem; root: string }, options: { api: FakeApi; ui: Ui; templates: TemplateSet; token: string }) {
  return (...argv: string[]) =>
    provisionCommand(parseArgv(["provision", ...argv]), {
      cwd: project.root,
      env: { CLOUDFLARE_API_TOKEN: options.token },
      fs: project.fs,
      exec: async () => ({ code: 0, output: "" }),
      ui: options.ui,
      loadTemplates: async () => options.templates,
      generatorVersion: renderMeta.generatorVersion,
      api: options.api,
      randomKey: () => "c".repeat(64),
      deployer: fakeDeployer(options.api, () => project.fs.readFile(join(project.root, "wrangler.jsonc"), "utf8")),
    });
}
