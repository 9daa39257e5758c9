import { createFsFromVolume, Volume } from "memfs";
import { describe, expect, it } from "vitest";
import { isSafeRelativePath, readProjectFile } from "../../src/apply/project-path.js";
import { readSnapshot, snapshotPathOf, withSnapshot } from "../../src/apply/snapshot.js";
import { UsageError } from "../../src/errors.js";
import type { FileSystem } from "../../src/fs.js";

function memoryFs(files: Record<string, string> = {}) {
  const volume = Volume.fromJSON(files, "/");
  return { volume, fs: createFsFromVolume(volume).promises as unknown as FileSystem };
}

const rendered = new Map([
  ["package.json", "{}\n"],
  [".gitignore", "node_modules/\n.dev.vars.*\n"],
  [".dev.vars.example", "TEAM_DOMAIN=x\n"],
  ["src/index.ts", "export {};\n"],
  ["mcp-access.json", '{ "name": "srv" }\n'],
  [".mcp-access/mcp-access.schema.json", "{}\n"],
]);

describe("the snapshot layout", () => {
  it("adds a suffixed copy of every generated file but the user's config, and a .gitignore that re-includes them", () => {
    const all = withSnapshot(rendered);
    const snapshot = [...all.keys()].filter((path) => path.startsWith(".mcp-access/generated/")).sort();
    expect(snapshot).toEqual([
      ".mcp-access/generated/.dev.vars.example.snapshot",
      ".mcp-access/generated/.gitignore",
      ".mcp-access/generated/.gitignore.snapshot",
      ".mcp-access/generated/.mcp-access/mcp-access.schema.json.snapshot",
      ".mcp-access/generated/package.json.snapshot",
      ".mcp-access/generated/src/index.ts.snapshot",
    ]);
    expect(all.get(snapshotPathOf("src/index.ts"))).toBe("export {};\n");
    expect(all.get(".mcp-access/generated/.gitignore")).toMatch(/^!\*$/m);
  });

  it("reads back exactly what was written, and nothing else in the folder", async () => {
    const files: Record<string, string> = {};
    for (const [path, text] of withSnapshot(rendered)) files[`/p/${path}`] = text;
    files["/p/.mcp-access/generated/src/index.ts.snapshot~"] = "an editor's backup";
    const { fs } = memoryFs(files);
    const snapshot = await readSnapshot(fs, "/p");
    expect(snapshot).toEqual(new Map([...rendered].filter(([path]) => path !== "mcp-access.json")));
  });

  it("is undefined for a project without one", async () => {
    const { fs } = memoryFs({ "/p/mcp-access.json": "{}", "/q/.mcp-access/mcp-access.schema.json": "{}" });
    expect(await readSnapshot(fs, "/p")).toBeUndefined();
    expect(await readSnapshot(fs, "/q")).toBeUndefined();
  });

  it("refuses a snapshot that holds a link or names a file it must not", async () => {
    const linked = memoryFs({ "/p/.mcp-access/generated/a.snapshot": "a", "/etc/passwd": "root" });
    linked.volume.symlinkSync("/etc", "/p/.mcp-access/generated/src");
    await expect(readSnapshot(linked.fs, "/p")).rejects.toThrow(UsageError);
    await expect(readSnapshot(linked.fs, "/p")).rejects.toThrow(/src is a symbolic link.*Nothing was changed.*git checkout -- \.mcp-access\/generated/);

    const linkedFolder = memoryFs({ "/elsewhere/x.snapshot": "x", "/p/.mcp-access/mcp-access.schema.json": "{}" });
    linkedFolder.volume.symlinkSync("/elsewhere", "/p/.mcp-access/generated");
    await expect(readSnapshot(linkedFolder.fs, "/p")).rejects.toThrow(/\.mcp-access\/generated is not a folder/);

    const config = memoryFs({ "/p/.mcp-access/generated/mcp-access.json.snapshot": "{}" });
    await expect(readSnapshot(config.fs, "/p")).rejects.toThrow(/mcp-access.json.snapshot names no project file/);
  });
});

describe("project paths", () => {
  it.each(["package.json", "src/index.ts", ".dev.vars.example", ".mcp-access/mcp-access.schema.json"])("accepts %s", (path) => {
    expect(isSafeRelativePath(path)).toBe(true);
  });

  it.each(["", "/etc/passwd", "../x", "src/../../x", "src//x", "./x", "src\\x", "C:/x", "a\0b"])("refuses %j", (path) => {
    expect(isSafeRelativePath(path)).toBe(false);
  });

  it("reads a file, reports a missing one, and never follows a link on the way", async () => {
    const { fs, volume } = memoryFs({ "/p/src/index.ts": "x", "/outside/secret.ts": "s", "/p/dir/keep": "" });
    volume.symlinkSync("/outside", "/p/linked");
    volume.symlinkSync("/outside/secret.ts", "/p/file-link.ts");
    expect(await readProjectFile(fs, "/p", "src/index.ts")).toMatchObject({ state: "file", text: "x" });
    expect(await readProjectFile(fs, "/p", "src/gone.ts")).toEqual({ state: "missing" });
    expect(await readProjectFile(fs, "/p", "nowhere/gone.ts")).toEqual({ state: "missing" });
    expect(await readProjectFile(fs, "/p", "linked/secret.ts")).toEqual({ state: "blocked", reason: "linked is a symbolic link; regenerate does not follow links" });
    expect(await readProjectFile(fs, "/p", "file-link.ts")).toMatchObject({ state: "blocked" });
    expect(await readProjectFile(fs, "/p", "dir")).toEqual({ state: "blocked", reason: "dir is not a regular file" });
    expect(await readProjectFile(fs, "/p", "src/index.ts/x")).toEqual({ state: "blocked", reason: "src/index.ts is a file where a folder is expected" });
  });
});
