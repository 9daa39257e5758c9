import { createFsFromVolume, Volume } from "memfs";
import { beforeAll, describe, expect, it } from "vitest";
import { parseArgv } from "../../src/answers/args.js";
import type { Prompter } from "../../src/answers/prompts.js";
import { type CreateContext, create } from "../../src/commands/create.js";
import { regenerate } from "../../src/commands/regenerate.js";
import { CLIENT_NAMES } from "../../src/config/clients.js";
import { Cancelled, RuntimeFailure, UsageError } from "../../src/errors.js";
import type { FileSystem } from "../../src/fs.js";
import type { TemplateSet } from "../../src/render/templates.js";
import type { Exec } from "../../src/steps/exec.js";
import { recordingUi, repoTemplates } from "../support/memory.js";

let templates: TemplateSet;
beforeAll(async () => {
  templates = await repoTemplates();
});

/** The whole create flow in memory: memfs for the disk, a recording exec, a silent UI. */
function harness(options: { files?: Record<string, string>; env?: Record<string, string>; exec?: Exec; prompter?: Prompter } = {}) {
  const volume = Volume.fromJSON(options.files ?? { "/work/.keep": "" }, "/");
  const commands: string[] = [];
  const said: string[] = [];
  const ui = recordingUi(said);
  const exec: Exec =
    options.exec ??
    (async (command, args) => {
      commands.push([command.replace(/^.*node_modules\/\.bin\//, ".bin/"), ...args].join(" "));
      // Like git outside any repository: rev-parse fails, everything else works, and every path
      // asked about is untracked and not ignored.
      if (args.includes("ls-files")) return { code: 0, output: args.slice(args.indexOf("--") + 1).join("\0") };
      return { code: args[0] === "rev-parse" ? 128 : 0, output: "" };
    });
  const ctx: CreateContext = {
    cwd: "/work",
    env: options.env ?? {},
    fs: createFsFromVolume(volume).promises as unknown as FileSystem,
    exec,
    ui,
    prompter: options.prompter,
    loadTemplates: async () => templates,
    generatorVersion: "0.1.0",
  };
  const files = () => Object.keys(volume.toJSON()).filter((path) => path !== "/work/.keep");
  const read = (path: string) => volume.readFileSync(path, "utf8") as string;
  return { ctx, commands, said, files, read, volume };
}

const complete = ["--auth", "self-hosted", "--team", "acme", "--allow-email", "ada@example.com"];

describe("create, non-interactive", () => {
  it("writes the project, installs with the package manager that ran it, generates types, commits", async () => {
    const h = harness({ env: { npm_config_user_agent: "pnpm/10.2.0 npm/? node/v24.0.0 linux x64" } });
    await create(parseArgv(["srv", ...complete]), h.ctx);
    expect(h.files()).toContain("/work/srv/src/index.ts");
    expect(JSON.parse(h.read("/work/srv/mcp-access.json"))).toMatchObject({ name: "srv", team: "https://acme.cloudflareaccess.com" });
    expect(h.commands).toEqual([
      "pnpm install",
      ".bin/wrangler types",
      "git --version",
      "git rev-parse --is-inside-work-tree",
      "git init --quiet",
      expect.stringMatching(/^git --literal-pathspecs ls-files --others --exclude-standard -z -- .*src\/index\.ts.* pnpm-lock\.yaml$/),
      expect.stringMatching(/^git --literal-pathspecs add -- /),
      "git commit --quiet -m Initial commit from create-mcp-access",
    ]);
    // Only what this run wrote (and the install's lock file), never `git add --all`.
    const added = h.commands.find((command) => command.includes(" add -- "))!.split(" -- ")[1]!.split(" ");
    expect(added).toEqual(expect.arrayContaining(["src/index.ts", "mcp-access.json", ".mcp-access/generated/src/index.ts.snapshot", "pnpm-lock.yaml"]));
    expect(added).toHaveLength(h.files().length + 1);
    expect(h.said.at(-2)).toMatch(/Next steps:\ncd srv\npnpm run dev/);
  });

  it("writes the snapshot regenerate merges against, in the same write", async () => {
    const h = harness();
    await create(parseArgv(["srv", ...complete, "--no-install", "--no-git"]), h.ctx);
    const project = h.files().filter((path) => !path.includes("/.mcp-access/generated/"));
    const snapshot = h.files().filter((path) => path.endsWith(".snapshot"));
    // One copy per generated file, except the user's own mcp-access.json.
    expect(snapshot.length).toBe(project.length - 1);
    expect(h.read("/work/srv/.mcp-access/generated/src/server.ts.snapshot")).toBe(h.read("/work/srv/src/server.ts"));
    expect(h.files()).not.toContain("/work/srv/.mcp-access/generated/mcp-access.json.snapshot");
    expect(h.said.join("\n")).not.toMatch(/Replaced/);
  });

  it("writes the project's own tests by default (the tests feature), and none with --features none", async () => {
    const args = ["srv", ...complete, "--downstream", "wiki=https://wiki.example.com", "--no-install", "--no-git"];
    const testFiles = (h: ReturnType<typeof harness>) =>
      h.files().filter((path) => /^\/work\/srv\/(test\/|vitest\.config)/.test(path)).sort();
    const byDefault = harness();
    await create(parseArgv(args), byDefault.ctx);
    expect(testFiles(byDefault)).toEqual([
      "/work/srv/test/access.ts",
      "/work/srv/test/audit.test.ts",
      "/work/srv/test/auth.test.ts",
      "/work/srv/test/downstream-app.ts",
      "/work/srv/test/downstream.test.ts",
      "/work/srv/test/groups.test.ts",
      "/work/srv/test/mcp.ts",
      "/work/srv/test/network.ts",
      "/work/srv/test/tokens.ts",
      "/work/srv/test/tool-gate.test.ts",
      "/work/srv/test/tsconfig.json",
      "/work/srv/vitest.config.ts",
    ]);
    expect(JSON.parse(byDefault.read("/work/srv/package.json")).scripts.test).toBe("vitest run");
    const none = harness();
    await create(parseArgv([...args, "--features", "none"]), none.ctx);
    expect(testFiles(none)).toEqual([]);
    expect(JSON.parse(none.read("/work/srv/package.json")).scripts).not.toHaveProperty("test");
  });

  it("--pm overrides detection; --no-install and --no-git run nothing", async () => {
    const h = harness({ env: { npm_config_user_agent: "yarn/4.0.0" } });
    await create(parseArgv(["srv", ...complete, "--pm", "bun"]), h.ctx);
    expect(h.commands[0]).toBe("bun install");
    const quiet = harness();
    await create(parseArgv(["srv", ...complete, "--no-install", "--no-git"]), quiet.ctx);
    expect(quiet.commands).toEqual([]);
    expect(quiet.said.at(-2)).toMatch(/cd srv\nnpm install\nnpm run dev/);
  });

  it("does not commit inside an existing repository", async () => {
    const commands: string[] = [];
    const h = harness({
      exec: async (command, args) => {
        commands.push(`${command} ${args[0]}`);
        return { code: 0, output: "" }; // rev-parse succeeds: we are inside a work tree

      },
    });
    await create(parseArgv(["srv", ...complete, "--no-install"]), h.ctx);
    expect(commands).toEqual(["git --version", "git rev-parse"]);
    expect(h.said).toContain("The project is inside a git repository already: nothing committed.");
  });

  it("reports a failed install as a run-time failure and keeps the written project", async () => {
    const h = harness({ exec: async () => ({ code: 1, output: "npm ERR! network\n" }) });
    const run = create(parseArgv(["srv", ...complete]), h.ctx);
    await expect(run).rejects.toThrow(RuntimeFailure);
    await expect(run).rejects.toThrow(/npm install failed \(exit 1\)[\s\S]*npm ERR! network/);
    expect(h.files()).toContain("/work/srv/package.json");
  });

  it("writes nothing and runs nothing on invalid input", async () => {
    const h = harness();
    await expect(create(parseArgv(["srv", ...complete, "--allow-email", "nope"]), h.ctx)).rejects.toThrow(UsageError);
    await expect(create(parseArgv(["srv", "--auth", "self-hosted"]), h.ctx)).rejects.toMatchObject({
      details: ["--team <name|url>", "--allow-email <email> or --allow-domain <domain>"],
    });
    expect(h.files()).toEqual([]);
    expect(h.commands).toEqual([]);
  });

  it("--lang js writes the JavaScript project; a failed wrangler types points at the command, not a typecheck script", async () => {
    const h = harness({ exec: async (command) => ({ code: command.endsWith("wrangler") ? 1 : 0, output: "" }) });
    await create(parseArgv(["srv", ...complete, "--lang", "js", "--no-git"]), h.ctx);
    const project = h.files().filter((path) => !path.includes("/.mcp-access/"));
    expect(project.filter((path) => /\.[mc]?[jt]s$|config\.json$/.test(path)).sort()).toEqual([
      "/work/srv/dev/access-emulator.mjs",
      "/work/srv/jsconfig.json",
      "/work/srv/src/access.js",
      "/work/srv/src/groups.js",
      "/work/srv/src/index.js",
      "/work/srv/src/server.js",
      "/work/srv/src/tool-gate.js",
      "/work/srv/src/tool-rules.js",
      // The tests feature (on by default), in JavaScript too.
      "/work/srv/test/access.js",
      "/work/srv/test/audit.test.js",
      "/work/srv/test/auth.test.js",
      "/work/srv/test/groups.test.js",
      "/work/srv/test/jsconfig.json",
      "/work/srv/test/mcp.js",
      "/work/srv/test/network.js",
      "/work/srv/test/tokens.js",
      "/work/srv/test/tool-gate.test.js",
      "/work/srv/vitest.config.js",
    ]);
    expect(JSON.parse(h.read("/work/srv/mcp-access.json")).lang).toBe("js");
    expect(h.said).toContain('warn: "wrangler types" failed; run npx wrangler types for your editor\'s types.');
  });

  it("--dry-run lists files and writes nothing", async () => {
    const h = harness();
    await create(parseArgv(["srv", ...complete, "--dry-run"]), h.ctx);
    expect(h.files()).toEqual([]);
    expect(h.commands).toEqual([]);
    expect(h.said.join("\n")).toMatch(/Would write 25 files[\s\S]*wrangler.jsonc/);
  });

  it("--force keeps the rules of an existing .gitignore, and regenerate treats them as the user's edit", async () => {
    const h = harness({ files: { "/work/srv/.gitignore": "secrets/\nid_rsa\n", "/work/srv/id_rsa": "key" } });
    await create(parseArgv(["srv", ...complete, "--no-install", "--no-git", "--force"]), h.ctx);
    const gitignore = h.read("/work/srv/.gitignore");
    expect(gitignore).toMatch(/^node_modules\/\n[\s\S]*\nsecrets\/\nid_rsa\n$/);
    // The snapshot holds what was generated, so their lines are an edit regenerate keeps.
    expect(h.read("/work/srv/.mcp-access/generated/.gitignore.snapshot")).not.toContain("secrets/");
    expect(h.said).toContain("Kept every rule of the .gitignore that was there, after the generated ones.");
    expect(h.said.join("\n")).not.toMatch(/Replaced existing files.*\.gitignore/);
    const ctx = { cwd: "/work/srv", env: {}, fs: h.ctx.fs, ui: h.ctx.ui, print: () => {}, loadTemplates: h.ctx.loadTemplates, generatorVersion: "0.1.0" };
    expect(await regenerate(parseArgv(["regenerate", "--check"]), ctx)).toBe(0);
    expect(h.read("/work/srv/.gitignore")).toBe(gitignore);
  });

  it("--force --dry-run refuses a symbolic link on a path it would write, like the real run", async () => {
    const h = harness({ files: { "/work/srv/notes.txt": "mine", "/elsewhere/.keep": "" } });
    h.volume.symlinkSync("/elsewhere", "/work/srv/src");
    const before = h.volume.toJSON();
    await expect(create(parseArgv(["srv", ...complete, "--force", "--dry-run"]), h.ctx)).rejects.toThrow(/src is a symbolic link/);
    await expect(create(parseArgv(["srv", ...complete, "--force"]), h.ctx)).rejects.toThrow(UsageError);
    expect(h.volume.toJSON()).toEqual(before);
    expect(h.commands).toEqual([]);
  });
});

/** A prompter that answers from a script and records what was asked, in order. */
function scripted(answers: unknown[]) {
  const asked: string[] = [];
  const next = async (kind: string, options: { message: string; validate?: (value: string) => unknown }) => {
    asked.push(`${kind}: ${options.message}`);
    const answer = answers.shift();
    if (kind === "text" && typeof answer === "string" && options.validate) {
      const problem = options.validate(answer);
      if (problem) throw new Error(`scripted answer ${JSON.stringify(answer)} was rejected: ${problem}`);
    }
    return answer;
  };
  const prompter = {
    text: (options: never) => next("text", options),
    select: (options: never) => next("select", options),
    multiselect: (options: never) => next("multiselect", options),
    confirm: (options: never) => next("confirm", options),
    note: () => asked.push("note"),
    isCancel: (value: unknown) => value === CANCEL,
  } as unknown as Prompter;
  return { prompter, asked };
}
const CANCEL = Symbol("cancel");

describe("create, interactive", () => {
  it("asks what the flags left open, in order, then confirms", async () => {
    const { prompter, asked } = scripted([
      "my-app",
      "self-hosted",
      "acme",
      "ada@example.com, @example.org",
      ["github"],
      true,
      "wiki",
      "https://wiki.example.com/api/",
      "Company wiki",
      false,
      true,
      ["call_wiki"],
      "group:wiki-editors, @example.org",
      ["claude", "cursor"],
      "js",
      ["tests", "lint"],
      true,
    ]);
    const h = harness({ prompter });
    await create(parseArgv(["--no-install", "--no-git"]), h.ctx);
    expect(asked).toEqual([
      "text: Where should the project be created?",
      "select: How should MCP clients sign in?",
      "text: Your Access team (name or https://<team>.cloudflareaccess.com)",
      "text: Who may sign in? Emails and @domains, comma-separated",
      "multiselect: Identity providers allowed to sign in (none selected: every one your account has)",
      "confirm: Should the server call other Access-protected apps for the user (downstream apps)?",
      "text: Name of the app (the tool will be call_<name>)",
      "text: Its base URL",
      "text: Its Access application's name (optional: found by the URL's host otherwise)",
      "confirm: Add another downstream app?",
      "confirm: Limit some tools to certain people or groups?",
      "multiselect: Which tools? (space to toggle, enter to accept)",
      "text: Who may call call_wiki? Emails, @domains and group:names, comma-separated",
      "multiselect: MCP clients that may connect (space to toggle, enter to accept)",
      "select: Language of the project",
      "multiselect: Optional parts (space to toggle, enter to accept)",
      "note",
      "confirm: Create the project?",
    ]);
    expect(JSON.parse(h.read("/work/my-app/mcp-access.json"))).toMatchObject({
      name: "my-app",
      team: "https://acme.cloudflareaccess.com",
      access: { emails: ["ada@example.com"], domains: ["example.org"], idps: ["github"] },
      downstreams: [{ name: "wiki", url: "https://wiki.example.com/api", accessApp: "Company wiki" }],
      tools: { call_wiki: { allow: { domains: ["example.org"], groups: ["wiki-editors"] } } },
      clients: ["claude", "cursor"],
      lang: "js",
      features: ["tests", "lint"],
    });
    expect(h.files()).toContain("/work/my-app/src/index.js");
    expect(h.files()).not.toContain("/work/my-app/src/index.ts");
  });

  it("offers TypeScript first, and shows the language in the summary", async () => {
    const options: { message: string; initialValue?: unknown; options?: { value: string; label: string }[] }[] = [];
    const notes: string[] = [];
    const { prompter } = scripted([[], false, false, [...CLIENT_NAMES], "ts", [], true]);
    const recording = {
      ...prompter,
      select: (o: never) => (options.push(o), prompter.select(o)),
      note: (message: string) => (notes.push(message), prompter.note(message)),
    } as Prompter;
    await create(parseArgv(["srv", ...complete, "--no-install", "--no-git"]), harness({ prompter: recording }).ctx);
    const language = options.find((o) => o.message === "Language of the project")!;
    expect(language.initialValue).toBe("ts");
    expect(language.options!.map((o) => o.label)).toEqual(["TypeScript", "JavaScript"]);
    expect(notes[0]).toMatch(/^language {3}TypeScript$/m);
    // Every client chosen is the default: nothing in the file, so the project follows the table.
    expect(notes[0]).toMatch(/^clients {4}every known client$/m);
  });

  it("skips the questions flags answered", async () => {
    const { prompter, asked } = scripted([[], true]);
    const h = harness({ prompter });
    await create(parseArgv(["srv", ...complete, "--downstream", "wiki=https://wiki.example.com", "--lang", "js", "--features", "none", "--client", "vscode", "--allow-tool", "call_wiki=@example.com", "--no-install", "--no-git"]), h.ctx);
    expect(asked).toEqual(["multiselect: Identity providers allowed to sign in (none selected: every one your account has)", "note", "confirm: Create the project?"]);
  });

  it.each([
    ["Ctrl-C at the auth question", ["srv", CANCEL]],
    ["no at the confirmation", ["srv", "self-hosted", "", "", [], false, false, ["claude"], "ts", [], false]],
  ])("%s cancels and writes nothing", async (_, answers) => {
    const { prompter } = scripted(answers as unknown[]);
    const h = harness({ prompter });
    await expect(create(parseArgv(["--no-install", "--no-git"]), h.ctx)).rejects.toThrow(Cancelled);
    expect(h.files()).toEqual([]);
  });

  it("explains a bad answer with the same rule as the flag", async () => {
    const { prompter } = scripted(["srv", "self-hosted", "acme.example.com"]);
    await expect(create(parseArgv([]), harness({ prompter }).ctx)).rejects.toThrow(/"acme.example.com" is not an Access team/);
  });
});
