import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse as parseJsonc } from "jsonc-parser";
import { createFsFromVolume, Volume } from "memfs";
import { beforeAll, describe, expect, it } from "vitest";
import { configWith, recordingUi, renderMeta, repoTemplates } from "../support/memory.js";
import { repoRoot } from "../support/processes.js";
import { parseArgv } from "../../src/answers/args.js";
import { withSnapshot } from "../../src/apply/snapshot.js";
import { regenerate } from "../../src/commands/regenerate.js";
import { CLIENT_NAMES, clientInfo } from "../../src/config/clients.js";
import type { FileSystem } from "../../src/fs.js";
import { render } from "../../src/render/render.js";
import type { TemplateSet } from "../../src/render/templates.js";

/**
 * Preview URLs (`<version>-<name>.<subdomain>.workers.dev`) are hosts the Access application on
 * the Worker's own host does not cover: every generated project turns them off.
 */
let templates: TemplateSet;
beforeAll(async () => {
  templates = await repoTemplates();
});

const wranglerOf = (text: string) => parseJsonc(text) as Record<string, unknown>;

describe("preview URLs", () => {
  it.each([
    ["self-hosted", "ts"],
    ["saas", "ts"],
    ["self-hosted", "js"],
    ["saas", "js"],
  ] as const)("are off in a new %s project (%s), and the README says why", (auth, lang) => {
    const files = render(configWith({ auth, lang }), templates, renderMeta);
    expect(wranglerOf(files.get("wrangler.jsonc")!).preview_urls).toBe(false);
    expect(files.get("README.md")).toMatch(/[Pp]review URLs[^\n]*(\n[^\n]+)*off/);
  });

  // The projects 0.1.0 generated had no such key: regenerate must bring it in, key by key.
  const fixture = JSON.parse(readFileSync(join(repoRoot, "test", "fixtures", "generated-0.1.0.json"), "utf8")) as {
    projects: Record<string, { files: Record<string, string> }>;
  };
  it.each(Object.keys(fixture.projects))("are turned off by regenerating %s, made by 0.1.0, with the user's edits kept (and its README lists today's clients)", async (name) => {
    const root = `/work/${name}`;
    const files = new Map(Object.entries(fixture.projects[name]!.files));
    expect(wranglerOf(files.get("wrangler.jsonc")!)).not.toHaveProperty("preview_urls");
    const volume = Volume.fromJSON(Object.fromEntries([...withSnapshot(files)].map(([path, text]) => [join(root, path), text])), "/");
    // An edit of the user's own in the same file must survive the key-by-key merge.
    const edited = files.get("wrangler.jsonc")!.replace('"observability": {', '"routes": ["mcp.example.com/*"],\n  "observability": {');
    volume.writeFileSync(join(root, "wrangler.jsonc"), edited);
    const said: string[] = [];
    const code = await regenerate(parseArgv(["regenerate"]), {
      cwd: root,
      env: {},
      fs: createFsFromVolume(volume).promises as unknown as FileSystem,
      ui: recordingUi(said),
      print: (text) => said.push(text),
      loadTemplates: async () => templates,
      generatorVersion: renderMeta.generatorVersion,
    });
    expect(code, said.join("\n")).toBe(0);
    const wrangler = wranglerOf(volume.readFileSync(join(root, "wrangler.jsonc"), "utf8") as string);
    expect(wrangler.preview_urls).toBe(false);
    expect(wrangler.routes).toEqual(["mcp.example.com/*"]);
    // The README's client section comes from today's client table: a 0.1.0 project (no "clients") gets every client.
    const readme = volume.readFileSync(join(root, "README.md"), "utf8") as string;
    for (const client of CLIENT_NAMES) expect(readme, client).toContain(`**${clientInfo(client).label.replace(/[()]/g, "\\$&")}**`);
    expect(readme).toContain(`claude mcp add --transport http ${name} `);
    // The self-hosted dev emulator, never edited, comes up to date too: it refuses other origins.
    if (JSON.parse(files.get("mcp-access.json")!).auth === "self-hosted") {
      expect(volume.readFileSync(join(root, "dev/access-emulator.mjs"), "utf8")).toContain("function refusalReason(req)");
    }
  });
});
