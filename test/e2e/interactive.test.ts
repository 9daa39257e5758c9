import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CLIENT_NAMES } from "../../src/config/clients.js";
import { cleanEnv, cliBin } from "../support/processes.js";
import { hasTmux, Terminal } from "../support/terminal.js";

/** The prompts in a real terminal (SPEC §3.3): a person answering them, and a person giving up. */
describe.skipIf(!hasTmux)("interactive create in a terminal", () => {
  let root: string;
  let cwd: string;
  let terminal: Terminal;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), "cma-tty-"));
    cwd = join(root, "cwd");
    mkdirSync(cwd);
    terminal = new Terminal([process.execPath, cliBin, "--no-install", "--no-git"], { cwd, env: cleanEnv() });
  });
  afterEach(() => {
    terminal.close();
    rmSync(root, { recursive: true, force: true });
  });

  it("asks every question, explains a bad answer, and creates the project", async () => {
    await terminal.waitFor(/Where should the project be created\?/);
    terminal.press("my-app", "Enter");
    await terminal.waitFor(/How should MCP clients sign in\?[\s\S]*self-hosted[\s\S]*saas/);
    terminal.press("Enter");
    await terminal.waitFor(/Your Access team/);
    terminal.press("acme.example.com", "Enter");
    await terminal.waitFor(/"acme.example.com" is not an Access team/);
    for (let i = 0; i < "acme.example.com".length; i++) terminal.press("BSpace");
    terminal.press("acme", "Enter");
    await terminal.waitFor(/Who may sign in\?/);
    terminal.press("ada@example.com, @example.org", "Enter");
    await terminal.waitFor(/Identity providers allowed to sign in/);
    terminal.press("Down", "Space", "Enter"); // GitHub
    await terminal.waitFor(/call other Access-protected apps/);
    terminal.press("Left", "Enter"); // Yes
    await terminal.waitFor(/Name of the app/);
    terminal.press("wiki", "Enter");
    await terminal.waitFor(/Its base URL/);
    terminal.press("http://wiki.example.com", "Enter");
    await terminal.waitFor(/must use https:\/\//);
    for (let i = 0; i < "http://wiki.example.com".length; i++) terminal.press("BSpace");
    terminal.press("https://wiki.example.com/api", "Enter");
    await terminal.waitFor(/Access application's name/);
    terminal.press("Enter");
    await terminal.waitFor(/Add another downstream app\?/);
    terminal.press("Enter"); // No
    await terminal.waitFor(/Limit some tools to certain people or groups\?/);
    terminal.press("Left", "Enter"); // Yes
    await terminal.waitFor(/Which tools\?[\s\S]*whoami[\s\S]*call_wiki/);
    terminal.press("Down", "Space", "Enter"); // call_wiki
    await terminal.waitFor(/Who may call call_wiki\?/);
    terminal.press("wiki-editors", "Enter");
    await terminal.waitFor(/"wiki-editors" is neither an email, an @domain nor group:<name>/);
    for (let i = 0; i < "wiki-editors".length; i++) terminal.press("BSpace");
    terminal.press("group:wiki-editors, @example.org", "Enter");
    await terminal.waitFor(/MCP clients that may connect[\s\S]*Claude Code[\s\S]*Workers AI Playground/);
    terminal.press("Space", "Enter"); // all are on: take Claude out
    await terminal.waitFor(/Language of the project[\s\S]*TypeScript[\s\S]*JavaScript/);
    terminal.press("Down", "Enter"); // JavaScript
    await terminal.waitFor(/Optional parts[\s\S]*tests[\s\S]*examples/);
    terminal.press("Down", "Down", "Space", "Enter"); // tests is on already; add lint
    await terminal.waitFor(/Create the project\?/);
    expect(terminal.screen()).toMatch(/team\s+https:\/\/acme\.cloudflareaccess\.com/);
    expect(terminal.screen()).toMatch(/language\s+JavaScript/);
    expect(terminal.screen()).toMatch(/tools\s+call_wiki → @example\.org, group:wiki-editors/);
    terminal.press("Enter");
    expect(await terminal.exitCode()).toBe(0);
    expect(JSON.parse(readFileSync(join(cwd, "my-app", "mcp-access.json"), "utf8"))).toMatchObject({
      name: "my-app",
      auth: "self-hosted",
      team: "https://acme.cloudflareaccess.com",
      access: { emails: ["ada@example.com"], domains: ["example.org"], idps: ["github"] },
      downstreams: [{ name: "wiki", url: "https://wiki.example.com/api" }],
      tools: { call_wiki: { allow: { domains: ["example.org"], groups: ["wiki-editors"] } } },
      clients: CLIENT_NAMES.filter((name) => name !== "claude"),
      lang: "js",
      features: ["tests", "lint"],
    });
    expect(readdirSync(join(cwd, "my-app", "src")).sort()).toEqual([
      "access.js",
      "downstream-body.js",
      "downstream-path.js",
      "downstream-redact.js",
      "downstream.js",
      "downstreams.js",
      "groups.js",
      "index.js",
      "server.js",
      "tool-gate.js",
      "tool-rules.js",
    ]);
  });

  it("Ctrl-C at a prompt exits 130 and leaves nothing behind", async () => {
    await terminal.waitFor(/Where should the project be created\?/);
    terminal.press("my-app", "Enter");
    await terminal.waitFor(/How should MCP clients sign in\?/);
    terminal.press("C-c");
    expect(await terminal.exitCode()).toBe(130);
    expect(readdirSync(cwd)).toEqual([]);
  });

  it("Escape at the last question exits 130 and leaves nothing behind", async () => {
    await terminal.waitFor(/Where should the project be created\?/);
    terminal.press("my-app", "Enter");
    await terminal.waitFor(/How should MCP clients sign in\?/);
    terminal.press("Enter");
    await terminal.waitFor(/Your Access team/);
    terminal.press("Enter");
    await terminal.waitFor(/Who may sign in\?/);
    terminal.press("Enter");
    await terminal.waitFor(/Identity providers allowed/);
    terminal.press("Enter");
    await terminal.waitFor(/call other Access-protected apps/);
    terminal.press("Enter");
    await terminal.waitFor(/Limit some tools/);
    terminal.press("Enter");
    await terminal.waitFor(/MCP clients that may connect/);
    terminal.press("Enter");
    await terminal.waitFor(/Language of the project/);
    terminal.press("Enter");
    await terminal.waitFor(/Optional parts/);
    terminal.press("Enter");
    await terminal.waitFor(/Create the project\?/);
    terminal.press("Escape");
    expect(await terminal.exitCode()).toBe(130);
    expect(readdirSync(cwd)).toEqual([]);
  });
});

describe.skipIf(!hasTmux)("Ctrl-C while installing", () => {
  it("stops the install, removes the directory this run created, exits 130", async () => {
    const root = mkdtempSync(join(tmpdir(), "cma-tty-"));
    const cwd = join(root, "cwd");
    mkdirSync(cwd);
    const terminal = new Terminal([process.execPath, cliBin, "srv", "--yes", "--no-git"], { cwd, env: cleanEnv() });
    try {
      await terminal.waitFor(/Installing dependencies with npm/);
      expect(readdirSync(cwd)).toEqual(["srv"]);
      terminal.press("C-c");
      expect(await terminal.exitCode()).toBe(130);
      expect(readdirSync(cwd)).toEqual([]);
    } finally {
      terminal.close();
      rmSync(root, { recursive: true, force: true });
    }
  });
});
