import * as fsp from "node:fs/promises";
import { join } from "node:path";
import type { Config } from "../../src/config/config.js";
import type { FileSystem } from "../../src/fs.js";
import { loadTemplates, type TemplateSet } from "../../src/render/templates.js";
import type { Ui } from "../../src/ui.js";
import { repoRoot } from "./processes.js";

/** The smallest valid Config: a self-hosted TypeScript project named srv, nothing optional; `more` overrides. */
export function configWith(more: Partial<Config> = {}): Config {
  return { name: "srv", auth: "self-hosted", access: { emails: [], domains: [], idps: [] }, downstreams: [], lang: "ts", features: [], ...more };
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
