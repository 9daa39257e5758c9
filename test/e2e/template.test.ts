import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { freePort, runCli } from "../support/processes.js";
import { type Route, tarGz, templateServer } from "../support/tarball.js";

/**
 * `--template` with the CLI installed from the packed tarball: a custom template served as a
 * .tar.gz from a local HTTP server, fetched by the bundled giget, checked, rendered, recorded in
 * mcp-access.json and fetched again by regenerate; and the ways a source can be wrong.
 */
const routes = new Map<string, Route>();
let server: Awaited<ReturnType<typeof templateServer>>;
beforeAll(async () => {
  server = await templateServer(routes);
});
afterAll(() => server.close());

let cwd: string;
/** The CLI's temporary folder (TMPDIR) and giget's cache home: both must be empty after every run. */
let temp: string;
let cacheHome: string;
beforeEach(() => {
  routes.clear();
  server.requests.length = 0;
  cwd = mkdtempSync(join(tmpdir(), "cma-template-"));
  temp = mkdtempSync(join(tmpdir(), "cma-template-tmp-"));
  cacheHome = mkdtempSync(join(tmpdir(), "cma-template-cache-"));
});
afterEach(() => {
  for (const dir of [cwd, temp, cacheHome]) rmSync(dir, { recursive: true, force: true });
});

const TEMPLATE = {
  "manifest.json": JSON.stringify(
    {
      partials: { signature: "parts/signature.hbs" },
      files: [
        { path: "README.md", template: "README.md.hbs" },
        { path: "notes/self-hosted.md", template: "notes/self-hosted.md.hbs", when: { auth: "self-hosted" } },
        { path: "notes/saas.md", template: "notes/saas.md.hbs", when: { auth: "saas" } },
        { path: "config.json", template: "config.json.hbs" },
        { path: "src/raw.ts", template: "raw.ts", raw: true },
      ],
    },
    null,
    2,
  ),
  "README.md.hbs": "# {{md name}}\n\nServes `{{code mcpUrl}}`.\n\n{{> signature}}\n",
  "parts/signature.hbs": "Made from a custom template.\n",
  "notes/self-hosted.md.hbs": "Access in front: {{teamDomain}}.\n",
  "notes/saas.md.hbs": "The Worker is the OAuth server; Access for SaaS at {{teamDomain}}.\n",
  "config.json.hbs": '{ "name": {{json name}}, "team": {{json teamDomain}}, "apps": {{downstreams.length}} }\n',
  "raw.ts": "export const braces = `{{ not rendered }}`;\n",
};

function cli(args: string[], where = cwd) {
  return runCli(args, { cwd: where, env: { TMPDIR: temp, XDG_CACHE_HOME: cacheHome } });
}

/** Project files, without the snapshot the tool keeps. */
function projectFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)).replaceAll("\\", "/"))
    .filter((path) => !path.startsWith(".mcp-access/"))
    .sort();
}

function expectNothingLeftBehind() {
  expect(readdirSync(temp), "the CLI's temporary folder").toEqual([]);
  expect(readdirSync(cacheHome), "giget's shared cache").toEqual([]);
}

const options = ["--auth", "self-hosted", "--team", "acme", "--yes", "--no-install", "--no-git"];

describe("--template with a .tar.gz URL", () => {
  it("generates the project from it, records it, and regenerate fetches and renders it again", async () => {
    routes.set("/t.tar.gz", { body: tarGz("my-template", TEMPLATE) });
    const url = server.url("/t.tar.gz");
    const created = await cli(["srv", "--template", url, ...options]);
    expect(created.code, created.stderr).toBe(0);
    const project = join(cwd, "srv");
    const read = (path: string) => readFileSync(join(project, path), "utf8");

    expect(projectFiles(project)).toEqual(["README.md", "config.json", "mcp-access.json", "notes/self-hosted.md", "src/raw.ts"]);
    expect(read("README.md")).toBe("# srv\n\nServes `https://srv.<your-subdomain>.workers.dev/mcp`.\n\nMade from a custom template.\n");
    expect(read("notes/self-hosted.md")).toBe("Access in front: https://acme.cloudflareaccess.com.\n");
    expect(JSON.parse(read("config.json"))).toEqual({ name: "srv", team: "https://acme.cloudflareaccess.com", apps: 0 });
    expect(read("src/raw.ts")).toBe(TEMPLATE["raw.ts"]);
    expect(JSON.parse(read("mcp-access.json"))).toMatchObject({ name: "srv", auth: "self-hosted", template: url });
    expect(existsSync(join(project, ".mcp-access", "generated", "README.md.snapshot"))).toBe(true);
    expect(server.requests.filter((request) => request.startsWith("GET"))).toEqual(["GET /t.tar.gz"]);
    expectNothingLeftBehind();

    // The template changes upstream, the user edits README.md and switches to saas in mcp-access.json.
    routes.set(
      "/t.tar.gz",
      {
        body: tarGz("my-template", {
          ...TEMPLATE,
          "manifest.json": TEMPLATE["manifest.json"].replace('"files": [', '"files": [\n    { "path": "CHANGELOG.md", "template": "CHANGELOG.md" },'),
          "CHANGELOG.md": "Version 2 of the template.\n",
          "README.md.hbs": TEMPLATE["README.md.hbs"].replace("Serves", "Serves MCP at"),
        }),
      },
    );
    writeFileSync(join(project, "README.md"), `${read("README.md")}\nMy own notes.\n`);
    writeFileSync(join(project, "mcp-access.json"), read("mcp-access.json").replace('"auth": "self-hosted"', '"auth": "saas"'));
    const regenerated = await cli(["regenerate", "--yes"], project);
    expect(regenerated.code, regenerated.stderr).toBe(0);
    expect(server.requests.filter((request) => request.startsWith("GET"))).toEqual(["GET /t.tar.gz", "GET /t.tar.gz"]);
    expect(projectFiles(project)).toEqual(["CHANGELOG.md", "README.md", "config.json", "mcp-access.json", "notes/saas.md", "src/raw.ts"]);
    expect(read("README.md")).toBe(
      "# srv\n\nServes MCP at `https://srv.<your-subdomain>.workers.dev/mcp`.\n\nMade from a custom template.\n\nMy own notes.\n",
    );
    expect(read("notes/saas.md")).toBe("The Worker is the OAuth server; Access for SaaS at https://acme.cloudflareaccess.com.\n");
    expect(read("CHANGELOG.md")).toBe("Version 2 of the template.\n");
    expectNothingLeftBehind();

    // The source is gone: regenerate stops with exit 2 and changes nothing.
    routes.delete("/t.tar.gz");
    const before = read("README.md");
    const gone = await cli(["regenerate", "--yes"], project);
    expect(gone.code).toBe(2);
    expect(gone.stderr).toMatch(new RegExp(`Could not fetch the template "${url}": Failed to download ${url}: 404 Not Found`));
    expect(read("README.md")).toBe(before);
    expectNothingLeftBehind();
  });
});

describe("--template that cannot be used: exit 2, a message naming the source and the fix, nothing written", () => {
  async function refused(url: string, message: RegExp) {
    const result = await cli(["srv", "--template", url, ...options]);
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(readdirSync(cwd)).toEqual([]);
    expectNothingLeftBehind();
    return result;
  }

  it("nothing listening on the port", async () => {
    const url = `http://127.0.0.1:${await freePort()}/t.tar.gz`;
    const result = await refused(url, new RegExp(`Could not fetch the template "${url}": Failed to download ${url}: fetch failed.*ECONNREFUSED`));
    expect(result.stderr).toMatch(/Check that the URL is right, that the server answers from this machine, and that it serves a .tar.gz of the template/);
  });

  it("a 404", async () => {
    const url = server.url("/nothing-here.tar.gz");
    await refused(url, new RegExp(`Could not fetch the template "${url}": Failed to download ${url}: 404 Not Found\\.`));
  });

  it("a manifest that is not JSON", async () => {
    routes.set("/t.tar.gz", { body: tarGz("my-template", { ...TEMPLATE, "manifest.json": "{ nope" }) });
    await refused(server.url("/t.tar.gz"), /The template "http:.*\/t.tar.gz" cannot be used \(1 problem\); nothing was written\.[\s\S]*- manifest.json is not valid JSON/);
  });

  it('a manifest with "path": "../evil": nothing is written anywhere', async () => {
    const manifest = JSON.stringify({ files: [{ path: "README.md", template: "README.md.hbs" }, { path: "../evil", template: "raw.ts", raw: true }], partials: { signature: "parts/signature.hbs" } });
    routes.set("/t.tar.gz", { body: tarGz("my-template", { ...TEMPLATE, "manifest.json": manifest }) });
    await refused(server.url("/t.tar.gz"), /- manifest.json: files\[1\] \("..\/evil"\): "path" "..\/evil" contains "..": it must stay inside the project/);
    expect(existsSync(join(cwd, "evil"))).toBe(false);
  });

  it("a symbolic link in the template, and a partial that does not compile: both reported", async () => {
    routes.set("/t.tar.gz", { body: tarGz("my-template", { ...TEMPLATE, "parts/signature.hbs": "{{#if saas}}\nunclosed\n", "raw.ts": { link: "/etc/passwd" } }) });
    const result = await refused(server.url("/t.tar.gz"), /cannot be used \(2 problems\)/);
    expect(result.stderr).toMatch(/- parts\/signature.hbs, line 3: Expecting .*got 'EOF'/);
    // The bundled extractor writes no symbolic link (src/render/tar-extract.ts, SPEC §7): the file the manifest names is not there.
    expect(result.stderr).toMatch(/- raw.ts is listed in manifest.json, but there is no such file in the template/);
  });
});
