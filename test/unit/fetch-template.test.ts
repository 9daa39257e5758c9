import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import * as fsp from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { createFsFromVolume, Volume } from "memfs";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { parseArgv } from "../../src/answers/args.js";
import { create } from "../../src/commands/create.js";
import { regenerate } from "../../src/commands/regenerate.js";
import { isLocalTemplate, templateForProject } from "../../src/config/template-source.js";
import { UsageError } from "../../src/errors.js";
import type { FileSystem } from "../../src/fs.js";
import { loadCustomTemplates } from "../../src/render/custom-templates.js";
import { type Download, gigetDownload, withFetchedTemplate } from "../../src/render/fetch-template.js";
import type { TemplateLoader } from "../../src/render/templates.js";
import { freePort } from "../support/processes.js";
import { recordingUi } from "../support/memory.js";
import { type Route, tarGz, templateServer } from "../support/tarball.js";

const nodeFs = fsp as unknown as FileSystem;
const MANIFEST = JSON.stringify({ partials: { intro: "intro.hbs" }, files: [{ path: "README.md", template: "README.md.hbs" }] });
const TEMPLATE = { "manifest.json": MANIFEST, "README.md.hbs": "# {{name}}\n\n{{> intro}}", "intro.hbs": "Hello from the template.\n" };

describe("which sources are local folders, and how mcp-access.json keeps them", () => {
  it.each([
    ["./tpl", true],
    ["../tpl", true],
    [".", true],
    ["/abs/tpl", true],
    ["C:\\tpl", true],
    ["gh:org/repo/path", false],
    ["org/repo", false],
    ["https://example.com/t.tar.gz", false],
    [".tpl", false],
  ])("%s → %s", (source, local) => {
    expect(isLocalTemplate(source)).toBe(local);
  });

  it("a relative folder is kept relative to the project; an absolute one and giget sources as given", () => {
    expect(templateForProject("./tpl", "/work", "/work/srv")).toBe("../tpl");
    expect(templateForProject("../shared/tpl", "/work/a", "/work/a/b/srv")).toBe("../../../shared/tpl");
    expect(templateForProject("./srv/tpl", "/work", "/work/srv")).toBe("./tpl");
    expect(templateForProject("/opt/tpl", "/work", "/work/srv")).toBe("/opt/tpl");
    expect(templateForProject("gh:org/repo/tpl", "/work", "/work/srv")).toBe("gh:org/repo/tpl");
  });
});

describe("withFetchedTemplate: a private temporary folder, gone afterwards whatever happens", () => {
  it("hands the fetched folder to its user, then removes it", async () => {
    let seen = "";
    const download: Download = async (_, dir) => {
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, "manifest.json"), "{}");
    };
    const text = await withFetchedTemplate("gh:org/repo", async (dir) => {
      seen = dir;
      expect(dirname(dir).startsWith(join(tmpdir(), "create-mcp-access-template-"))).toBe(true);
      return fsp.readFile(join(dir, "manifest.json"), "utf8");
    }, { download });
    expect(text).toBe("{}");
    expect(existsSync(dirname(seen))).toBe(false);
  });

  it("removes it when the download fails, and says what to check (no stack, exit 2)", async () => {
    let temp = "";
    const download: Download = async (_, dir) => {
      temp = dirname(dir);
      mkdirSync(dir, { recursive: true });
      throw new Error("Failed to download https://api.github.com/repos/org/repo/tarball/main: 404 Not Found");
    };
    const error = await withFetchedTemplate("gh:org/repo", async () => "never", { download }).catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).message).toBe('Could not fetch the template "gh:org/repo": Failed to download https://api.github.com/repos/org/repo/tarball/main: 404 Not Found.');
    expect((error as UsageError).details).toEqual([expect.stringMatching(/^Check the repository, the path in it and the ref \(gh:org\/repo\/path#ref\).*GIGET_AUTH/)]);
    expect(existsSync(temp)).toBe(false);
  });

  it("removes it when using the template fails, and passes that error on as it is", async () => {
    let temp = "";
    const problem = new UsageError("The template … cannot be used");
    const error = await withFetchedTemplate("gh:org/repo", async (dir) => {
      temp = dirname(dir);
      throw problem;
    }, { download: async (_, dir) => void mkdirSync(dir, { recursive: true }) }).catch((thrown: unknown) => thrown);
    expect(error).toBe(problem);
    expect(existsSync(temp)).toBe(false);
  });

  it("gives up after the timeout, even on a download that never ends", async () => {
    const started = Date.now();
    const error = await withFetchedTemplate("gh:org/repo", async () => "never", { timeoutMs: 100, download: () => new Promise(() => {}) }).catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).message).toBe('Could not fetch the template "gh:org/repo": timed out after 0.1 s.');
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});

describe("giget, against a local server", () => {
  const routes = new Map<string, Route>();
  let server: Awaited<ReturnType<typeof templateServer>>;
  let cacheHome: string;
  const savedCache = process.env.XDG_CACHE_HOME;
  beforeAll(async () => {
    server = await templateServer(routes);
  });
  afterAll(() => server.close());
  beforeEach(() => {
    routes.clear();
    cacheHome = mkdtempSync(join(tmpdir(), "cma-cache-home-"));
    process.env.XDG_CACHE_HOME = cacheHome;
  });
  afterEach(() => {
    rmSync(cacheHome, { recursive: true, force: true });
    if (savedCache === undefined) delete process.env.XDG_CACHE_HOME;
    else process.env.XDG_CACHE_HOME = savedCache;
  });

  /** giget, recording the folder it was given, so the test can check the temporary folder went away. */
  function recorded() {
    const temps: string[] = [];
    const download: Download = (source, dir, cacheDir, signal) => {
      temps.push(dirname(dir));
      return gigetDownload(source, dir, cacheDir, signal);
    };
    return { temps, download };
  }

  it("fetches and checks a .tar.gz; giget's shared cache and the global fetch are left as they were", async () => {
    routes.set("/t.tar.gz", { body: tarGz("my-template", TEMPLATE) });
    const { temps, download } = recorded();
    const fetchBefore = globalThis.fetch;
    const templates = await loadCustomTemplates(nodeFs, server.url("/t.tar.gz"), "/nowhere", "/dev/null", { download });
    expect(templates.origin).toBe(JSON.stringify(server.url("/t.tar.gz")));
    expect(templates.sources.get("README.md.hbs")).toBe("# {{name}}\n\n{{> intro}}");
    expect(templates.partials.get("intro")).toBe("Hello from the template.\n");
    expect(server.requests.filter((request) => request.startsWith("GET"))).toEqual(["GET /t.tar.gz"]);
    expect(temps).toHaveLength(1);
    expect(existsSync(temps[0]!)).toBe(false);
    expect(readdirSync(cacheHome)).toEqual([]);
    expect(process.env.XDG_CACHE_HOME).toBe(cacheHome);
    expect(globalThis.fetch).toBe(fetchBefore);
  });

  it("a 404: exit 2, naming the source and what to check", async () => {
    const { temps, download } = recorded();
    const url = server.url("/missing.tar.gz");
    const error = await loadCustomTemplates(nodeFs, url, "/nowhere", "/dev/null", { download }).catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).message).toBe(`Could not fetch the template "${url}": Failed to download ${url}: 404 Not Found.`);
    expect((error as UsageError).details).toEqual([expect.stringMatching(/^Check that the URL is right, that the server answers from this machine, and that it serves a .tar.gz/)]);
    expect(existsSync(temps[0]!)).toBe(false);
  });

  it("not a tarball", async () => {
    routes.set("/page", { body: "<html>a web page</html>", type: "text/html" });
    const error = await loadCustomTemplates(nodeFs, server.url("/page"), "/nowhere", "/dev/null").catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).message).toMatch(/^Could not fetch the template "http:\/\/127.0.0.1:\d+\/page": .*Unrecognized archive format/);
  });

  it("a tarball without a manifest", async () => {
    routes.set("/t.tar.gz", { body: tarGz("my-template", { "README.md": "hi" }) });
    await expect(loadCustomTemplates(nodeFs, server.url("/t.tar.gz"), "/nowhere", "/dev/null")).rejects.toMatchObject({
      message: expect.stringMatching(/^The template "http:.*\/t.tar.gz" cannot be used \(1 problem\)/),
      details: [expect.stringMatching(/^there is no manifest.json at the top of the template folder/)],
    });
  });

  it("a symbolic link in the tarball is refused, wherever it points", async () => {
    routes.set("/t.tar.gz", { body: tarGz("my-template", { ...TEMPLATE, "intro.hbs": { link: "/etc/passwd" } }) });
    await expect(loadCustomTemplates(nodeFs, server.url("/t.tar.gz"), "/nowhere", "/dev/null")).rejects.toMatchObject({
      details: ["intro.hbs is a symbolic link: a template is read without following links; put the file itself there"],
    });
  });

  it("a tarball whose entries try to leave the folder (.., absolute, through a link): nothing lands outside it", async () => {
    const outside = mkdtempSync(join(tmpdir(), "cma-outside-"));
    const unique = `escaped-${process.pid}-${Date.now()}.txt`;
    try {
      routes.set(
        "/t.tar.gz",
        {
          body: tarGz("my-template", {
            ...TEMPLATE,
            [`../../${unique}`]: "x",
            [`/${unique}`]: "x",
            out: { link: outside },
            [`out/${unique}`]: "x",
            up: { link: "../.." },
            [`up/${unique}`]: "x",
          }),
        },
      );
      const { temps, download } = recorded();
      // Whatever giget makes of the links, the checks refuse any that remain; what matters here is where files landed.
      await loadCustomTemplates(nodeFs, server.url("/t.tar.gz"), "/nowhere", "/dev/null", { download }).catch(() => undefined);
      expect(readdirSync(outside)).toEqual([]);
      for (const dir of [tmpdir(), "/"]) expect(existsSync(join(dir, unique)), dir).toBe(false);
      expect(existsSync(temps[0]!)).toBe(false);
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });

  it("nothing listening: connection refused", async () => {
    const url = `http://127.0.0.1:${await freePort()}/t.tar.gz`;
    const error = await loadCustomTemplates(nodeFs, url, "/nowhere", "/dev/null").catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).message).toMatch(new RegExp(`^Could not fetch the template "${url}": Failed to download ${url}: fetch failed: connect ECONNREFUSED`));
  });

  it("a server that never answers: the timeout ends every request", async () => {
    routes.set("/slow.tar.gz", "hang");
    const fetchBefore = globalThis.fetch;
    const { temps, download } = recorded();
    const started = Date.now();
    const error = await loadCustomTemplates(nodeFs, server.url("/slow.tar.gz"), "/nowhere", "/dev/null", { timeoutMs: 500, download }).catch(
      (thrown: unknown) => thrown,
    );
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).message).toMatch(/: timed out after 0.5 s\.$/);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(globalThis.fetch).toBe(fetchBefore);
    // The download wound down before the folder went: nothing recreates it a moment later.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(existsSync(temps[0]!)).toBe(false);
  });

  it("a source giget does not know", async () => {
    await expect(loadCustomTemplates(nodeFs, "svn:org/repo", "/nowhere", "/dev/null")).rejects.toMatchObject({
      message: 'Could not fetch the template "svn:org/repo": Unsupported provider: svn.',
      details: [expect.stringMatching(/^"svn:" is not a source giget knows: give gh:org\/repo\/path/)],
    });
  });
});

describe("a local template folder, through create and regenerate (in memory)", () => {
  function harness() {
    const volume = Volume.fromJSON(
      {
        "/work/.keep": "",
        "/schema.json": "{}",
        ...Object.fromEntries(Object.entries(TEMPLATE).map(([path, text]) => [`/work/tpl/${path}`, text])),
      },
      "/",
    );
    const fs = createFsFromVolume(volume).promises as unknown as FileSystem;
    const loads: string[] = [];
    const loadTemplates: TemplateLoader = (config, projectDir) => {
      loads.push(`${config.template} from ${projectDir}`);
      return loadCustomTemplates(fs, config.template!, projectDir, "/schema.json");
    };
    const said: string[] = [];
    const ctx = { env: {}, fs, exec: async () => ({ code: 0, output: "" }), ui: recordingUi(said), loadTemplates, generatorVersion: "0.1.0" };
    return { volume, ctx, loads, said };
  }

  it("renders from the folder, records it relative to the project, and regenerate renders from it again", async () => {
    const h = harness();
    await create(parseArgv(["srv", "--template", "./tpl", "--yes", "--no-install", "--no-git"]), { ...h.ctx, cwd: "/work" });
    const files = Object.keys(h.volume.toJSON("/work/srv")).map((path) => path.slice("/work/srv/".length)).sort();
    expect(files).toEqual([
      ".mcp-access/generated/.gitignore",
      ".mcp-access/generated/.mcp-access/mcp-access.schema.json.snapshot",
      ".mcp-access/generated/README.md.snapshot",
      ".mcp-access/mcp-access.schema.json",
      "README.md",
      "mcp-access.json",
    ]);
    expect(h.volume.readFileSync("/work/srv/README.md", "utf8")).toBe("# srv\n\nHello from the template.\n");
    expect(JSON.parse(h.volume.readFileSync("/work/srv/mcp-access.json", "utf8") as string).template).toBe("../tpl");

    h.volume.writeFileSync("/work/tpl/intro.hbs", "Hello again, from the changed template.\n");
    const code = await regenerate(parseArgv(["regenerate", "--yes"]), { ...h.ctx, cwd: "/work/srv", print: () => {} });
    expect(code).toBe(0);
    expect(h.volume.readFileSync("/work/srv/README.md", "utf8")).toBe("# srv\n\nHello again, from the changed template.\n");
    expect(h.loads).toEqual(["../tpl from /work/srv", "../tpl from /work/srv"]);
  });

  it("a folder that is not there: exit 2 before anything is written", async () => {
    const h = harness();
    await expect(create(parseArgv(["srv", "--template", "./nope", "--yes", "--no-install", "--no-git"]), { ...h.ctx, cwd: "/work" })).rejects.toMatchObject({
      exitCode: 2,
      message: expect.stringMatching(/^The template folder "..\/nope" \(\/work\/nope\) does not exist or is not a folder/),
    });
    expect(h.volume.existsSync("/work/srv")).toBe(false);
  });

  it("a malformed template: exit 2 and nothing written", async () => {
    const h = harness();
    h.volume.writeFileSync("/work/tpl/manifest.json", JSON.stringify({ partials: { intro: "intro.hbs" }, files: [{ path: "../evil", template: "README.md.hbs" }] }));
    await expect(create(parseArgv(["srv", "--template", "./tpl", "--yes", "--no-install", "--no-git"]), { ...h.ctx, cwd: "/work" })).rejects.toMatchObject({
      exitCode: 2,
      message: expect.stringMatching(/^The template folder \/work\/tpl cannot be used \(1 problem\)/),
      details: ['manifest.json: files[0] ("../evil"): "path" "../evil" contains "..": it must stay inside the project'],
    });
    expect(Object.keys(h.volume.toJSON("/work")).filter((path) => !path.startsWith("/work/tpl/"))).toEqual(["/work/.keep"]);
  });
});
