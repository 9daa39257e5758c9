import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { cliBin, repoRoot, run, runCli } from "../support/processes.js";

/** The CLI as a user meets it: the built bin, a real directory, no terminal. */
let cwd: string;
beforeEach(() => {
  cwd = mkdtempSync(join(tmpdir(), "cma-cli-"));
});
afterEach(() => rmSync(cwd, { recursive: true, force: true }));

const complete = ["--auth", "self-hosted", "--team", "acme", "--allow-domain", "example.com", "--no-install", "--no-git"];

describe("bad input: exit 2, a message naming the value and the fix, nothing written", () => {
  const cases: [string, string[], RegExp][] = [
    ["unknown auth mode", ["srv", ...complete, "--auth", "oauth"], /--auth: "oauth" is not one of: self-hosted, saas/],
    ["team that is not an Access team", ["srv", ...complete, "--team", "acme.example.com"], /--team: "acme.example.com" is not an Access team/],
    ["team URL with template braces", ["srv", ...complete, "--team", "https://{{x}}.cloudflareaccess.com"], /--team: .* is not an Access team/],
    ["worker name with capitals", ["srv", ...complete, "--name", "My Server"], /--name: "My Server" is not a valid Worker name.*"my-server"/],
    ["worker name with a quote and a newline", ["srv", ...complete, "--name", 'a"b\nc'], /--name: "a\\"b\\nc" is not a valid Worker name/],
    ["bad email", ["srv", ...complete, "--allow-email", "not-an-email"], /--allow-email: "not-an-email" is not an email address/],
    ["bad email domain", ["srv", ...complete, "--allow-domain", "exa mple.com"], /--allow-domain: "exa mple.com" is not an email domain/],
    ["unknown identity provider", ["srv", ...complete, "--idp", "facebook"], /--idp: "facebook" is neither an identity provider id/],
    ["downstream without a URL", ["srv", ...complete, "--downstream", "wiki"], /--downstream: "wiki" is not of the form name=url/],
    ["downstream over plain http", ["srv", ...complete, "--downstream", "wiki=http://wiki.example.com"], /must use https:\/\//],
    ["a tool the project does not generate", ["srv", ...complete, "--downstream", "wiki=https://wiki.example.com", "--allow-tool", "call_wik=group:eng"], /--allow-tool: "call_wik" is not a tool this project generates \(its tools: whoami, call_wiki\)\. To limit a tool you wrote yourself, add it to TOOL_RULES in src\/tool-rules\.ts\./],
    ["a tool rule naming a bare word", ["srv", ...complete, "--allow-tool", "whoami=admins"], /--allow-tool: "whoami=admins": "admins" is neither an email, an @domain nor group:<name> \(for a group, write "group:admins"\)/],
    ["a rate limit over 30 seconds", ["srv", ...complete, "--rate-limit", "60/30"], /--rate-limit: period "30" is not allowed: use 10 or 60/],
    ["the audit off and its arguments chosen", ["srv", ...complete, "--no-audit", "--audit-arguments", "hash"], /--no-audit turns the audit log off, so --audit-arguments has nothing to apply to/],
    ["provision with a governance option", ["provision", "--no-audit"], /provision takes its answers from mcp-access.json, not from --no-audit/],
    ["unknown language", ["srv", ...complete, "--lang", "py"], /--lang: "py" is not one of: ts, js/],
    ["unknown feature", ["srv", ...complete, "--features", "docker"], /--features: "docker" is not one of: tests, ci, lint, examples/],
    ["bad account id", ["srv", ...complete, "--account-id", "123"], /--account-id: "123" is not a Cloudflare account id/],
    ["unknown package manager", ["srv", ...complete, "--pm", "pip"], /--pm: "pip" is not one of: npm, pnpm, yarn, bun/],
    ["unknown option", ["srv", ...complete, "--atuh", "saas"], /Unknown option "--atuh". Did you mean --auth\?/],
    ["missing answers without --yes", ["srv", "--no-install"], /--auth <self-hosted\|saas>[\s\S]*--team <name\|url>[\s\S]*--allow-email/],
    ["missing directory without --yes", ["--auth", "self-hosted", "--team", "acme", "--allow-domain", "example.com"], /a directory \(the first argument\)/],
    ["config file that does not exist", ["srv", "--yes", "--config", "nope.json"], /Cannot read the config file .*nope.json.*no such file/],
    ["custom domain given as a URL", ["srv", ...complete, "--domain", "https://mcp.example.com/mcp"], /--domain: "https:\/\/mcp.example.com\/mcp" is a URL, not a hostname: give the bare hostname, like "mcp.example.com"/],
    ["custom domain on workers.dev", ["srv", ...complete, "--domain", "srv.acme.workers.dev"], /--domain: "srv.acme.workers.dev" is a workers.dev host/],
    ["provisioning without an API token", ["srv", ...complete, "--provision"], /needs a Cloudflare API token in CLOUDFLARE_API_TOKEN[\s\S]*Access: Apps and Policies: Edit[\s\S]*Workers KV Storage: Edit/],
    ["provisioning with nobody allowed in", ["srv", "--auth", "self-hosted", "--provision", "--yes"], /Nobody would be allowed to sign in.*--allow-email/],
    ["--deploy without installing", ["srv", ...complete, "--provision", "--deploy", "--no-install"], /--deploy needs the project's dependencies/],
    ["provision outside a project", ["provision"], /There is no mcp-access.json in .*provision runs in the root folder of a project/],
    ["provision with an answer option", ["provision", "--team", "acme"], /provision takes its answers from mcp-access.json, not from --team/],
    ["regenerate outside a project", ["regenerate"], /There is no mcp-access.json in .*regenerate runs in the root folder of a project/],
    ["--check without regenerate", ["srv", ...complete, "--check"], /--check only applies to regenerate/],
    ["two directories", ["one", "two", ...complete], /Too many arguments/],
  ];

  it.each(cases)("%s", async (_, args, message) => {
    const result = await runCli(args, { cwd });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(readdirSync(cwd)).toEqual([]);
  });

  it("a config file with invalid JSON, an unknown key, or a bad value", async () => {
    writeFileSync(join(cwd, "broken.json"), "{ nope");
    writeFileSync(join(cwd, "typo.json"), JSON.stringify({ version: 1, name: "srv", auth: "self-hosted", teams: "acme" }));
    writeFileSync(join(cwd, "bad.json"), JSON.stringify({ version: 1, name: "srv", auth: "self-hosted", access: { emails: ["x"] } }));
    writeFileSync(join(cwd, "rules.json"), JSON.stringify({ version: 1, name: "srv", auth: "saas", tools: { whoami: { allow: {} } }, rateLimit: { limit: 0, period: 60 } }));
    const broken = await runCli(["srv", "--yes", "--config", "broken.json"], { cwd });
    const typo = await runCli(["srv", "--yes", "--config", "typo.json"], { cwd });
    const bad = await runCli(["srv", "--yes", "--config", "bad.json"], { cwd });
    const rules = await runCli(["srv", "--yes", "--config", "rules.json"], { cwd });
    expect([broken.code, typo.code, bad.code, rules.code]).toEqual([2, 2, 2, 2]);
    expect(rules.stderr).toMatch(/"tools" in .*rules.json: tools\.whoami\.allow names no one: list emails, domains or groups, or remove "allow"/);
    expect(rules.stderr).toMatch(/"rateLimit" in .*rules.json: limit "0" is not a number of calls/);
    expect(broken.stderr).toMatch(/broken.json" is not valid JSON/);
    expect(typo.stderr).toMatch(/"teams" in .*typo.json: unknown key/);
    expect(bad.stderr).toMatch(/"access.emails" in .*bad.json: "x" is not an email address/);
    expect(readdirSync(cwd).sort()).toEqual(["bad.json", "broken.json", "rules.json", "typo.json"]);
  });

  it("a non-empty directory without --force", async () => {
    mkdirSync(join(cwd, "srv"));
    writeFileSync(join(cwd, "srv", "notes.txt"), "mine");
    const result = await runCli(["srv", ...complete], { cwd });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/is not empty.*--force/);
    expect(readdirSync(join(cwd, "srv"))).toEqual(["notes.txt"]);
  });
});

describe("good input", () => {
  it("--help documents every option and the exit codes", async () => {
    const result = await runCli(["--help"], { cwd });
    expect(result.code).toBe(0);
    for (const flag of [
      "--auth", "--name", "--team", "--idp", "--allow-email", "--allow-domain", "--downstream", "--lang", "--features",
      "--domain", "--provision", "--no-provision", "--deploy", "--no-deploy", "--account-id", "--template", "--config",
      "--pm", "--no-install", "--no-git", "--dry-run", "--check", "--force", "--yes", "--help", "--version",
      "--allow-tool", "--rate-limit", "--no-audit", "--audit-arguments",
    ]) {
      expect(result.stdout).toContain(flag);
    }
    expect(result.stdout).toMatch(/Exit codes\n.*0 done.*1 failed.*2 invalid input.*3 regeneration.*130 cancelled/);
  });

  it("--version prints the package version", async () => {
    const { version } = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8"));
    const result = await runCli(["--version"], { cwd });
    expect(result).toMatchObject({ code: 0, stdout: `${version}\n` });
  });

  it("--yes generates a project from defaults, with its config file", async () => {
    const result = await runCli(["--yes", "--no-install", "--no-git"], { cwd });
    expect(result.code).toBe(0);
    const project = join(cwd, "my-mcp-server");
    const config = JSON.parse(readFileSync(join(project, "mcp-access.json"), "utf8"));
    expect(config).toEqual({
      $schema: "./.mcp-access/mcp-access.schema.json",
      version: 1,
      name: "my-mcp-server",
      auth: "self-hosted",
      access: { emails: [], domains: [], idps: [] },
      downstreams: [],
      lang: "ts",
      features: ["tests"],
    });
    for (const file of ["package.json", "wrangler.jsonc", "src/index.ts", "README.md", ".gitignore", ".dev.vars.example", ".mcp-access/mcp-access.schema.json"]) {
      expect(existsSync(join(project, file)), file).toBe(true);
    }
    expect(result.stdout).toMatch(/Next steps:\n  cd my-mcp-server\n  npm install\n  npm run dev/);
  });

  it("reads answers from --config and lets flags override them", async () => {
    writeFileSync(
      join(cwd, "answers.json"),
      JSON.stringify({ version: 1, name: "from-file", auth: "self-hosted", team: "acme", access: { emails: ["ada@example.com"] } }),
    );
    const result = await runCli(["srv", "--config", "answers.json", "--team", "https://other.cloudflareaccess.com", "--no-install", "--no-git"], { cwd });
    expect(result.code).toBe(0);
    const config = JSON.parse(readFileSync(join(cwd, "srv", "mcp-access.json"), "utf8"));
    expect(config).toMatchObject({ name: "from-file", team: "https://other.cloudflareaccess.com", access: { emails: ["ada@example.com"] } });
    expect(readFileSync(join(cwd, "srv", "wrangler.jsonc"), "utf8")).toContain('"TEAM_DOMAIN": "https://other.cloudflareaccess.com"');
  });

  it("reads options npm swallowed from npm_config_* and says how to pass them", async () => {
    const result = await runCli(["srv", "--yes", "--no-install", "--no-git"], { cwd, env: { npm_config_team: "acme" } });
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/Read --team acme from npm_config_team.*-- --team acme/);
    expect(JSON.parse(readFileSync(join(cwd, "srv", "mcp-access.json"), "utf8")).team).toBe("https://acme.cloudflareaccess.com");
  });

  it("--dry-run lists the files and writes nothing", async () => {
    const result = await runCli(["srv", ...complete, "--dry-run"], { cwd });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/Would write \d+ files/);
    expect(result.stdout).toContain("wrangler.jsonc");
    expect(readdirSync(cwd)).toEqual([]);
  });

  it("--force writes into a non-empty directory and keeps the files that were there", async () => {
    mkdirSync(join(cwd, "srv"));
    writeFileSync(join(cwd, "srv", "notes.txt"), "mine");
    const result = await runCli(["srv", ...complete, "--force"], { cwd });
    expect(result.code).toBe(0);
    expect(readFileSync(join(cwd, "srv", "notes.txt"), "utf8")).toBe("mine");
    expect(existsSync(join(cwd, "srv", "src", "index.ts"))).toBe(true);
  });

  it("creates a git repository with a first commit", async () => {
    const result = await runCli(["srv", ...complete.filter((arg) => arg !== "--no-git")], {
      cwd,
      env: { GIT_AUTHOR_NAME: "T", GIT_AUTHOR_EMAIL: "t@example.com", GIT_COMMITTER_NAME: "T", GIT_COMMITTER_EMAIL: "t@example.com" },
    });
    expect(result.code).toBe(0);
    const log = execFileSync("git", ["log", "--format=%s"], { cwd: join(cwd, "srv"), encoding: "utf8" });
    expect(log.trim()).toBe("Initial commit from create-mcp-access");
    const tracked = execFileSync("git", ["ls-files"], { cwd: join(cwd, "srv"), encoding: "utf8" });
    expect(tracked).toContain("mcp-access.json");
    expect(tracked).not.toContain(".dev.vars\n");
    // The snapshot regenerate needs is committed whole, even the copy of .dev.vars.example that `.dev.vars.*` would hide.
    expect(tracked).toContain(".mcp-access/generated/.dev.vars.example.snapshot");
    expect(tracked).toContain(".mcp-access/generated/src/server.ts.snapshot");
  });
});

describe("on an old Node.js", () => {
  const oldNode = ["/usr/bin/node", "/usr/local/bin/node"].find((path) => {
    if (!existsSync(path)) return false;
    const [major, minor] = execFileSync(path, ["-p", "process.versions.node"], { encoding: "utf8" }).split(".").map(Number);
    return major! < 22 || (major === 22 && minor! < 12);
  });

  it.skipIf(!oldNode)("prints one line naming both versions and exits 1", async () => {
    const result = await run(oldNode!, [cliBin, "--help"], { cwd });
    expect(result.code).toBe(1);
    expect(result.stderr.trim()).toMatch(/^create-mcp-access needs Node\.js 22\.12 or newer; this is Node\.js \d+\.\d+\.\d+\.$/);
  });
});
