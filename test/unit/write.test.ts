import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Volume, createFsFromVolume } from "memfs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { mergeGitignore } from "../../src/apply/gitignore.js";
import { checkTarget, writeProject } from "../../src/apply/write.js";
import { UsageError } from "../../src/errors.js";
import { exists, type FileSystem, nodeFileSystem } from "../../src/fs.js";

function memoryFs(files: Record<string, string> = {}) {
  const volume = Volume.fromJSON(files, "/");
  return { volume, fs: createFsFromVolume(volume).promises as unknown as FileSystem };
}

const project = new Map([
  ["package.json", "{}\n"],
  ["src/index.ts", "export {};\n"],
]);

describe("the non-empty directory rule", () => {
  it("accepts a missing or empty directory, or one with only .git", async () => {
    const { fs } = memoryFs({ "/empty/.git/HEAD": "ref", "/work/keep": "" });
    expect(await checkTarget(fs, "/nowhere/new", false)).toBe("missing");
    expect(await checkTarget(fs, "/empty", false)).toBe("empty");
  });

  it("refuses a non-empty directory without --force, naming it and the flag", async () => {
    const { fs } = memoryFs({ "/app/notes.txt": "mine" });
    await expect(checkTarget(fs, "/app", false)).rejects.toThrow(UsageError);
    await expect(checkTarget(fs, "/app", false)).rejects.toThrow(/"\/app" is not empty.*--force/);
    expect(await checkTarget(fs, "/app", true)).toBe("non-empty");
  });

  it("refuses a target that is a file, even with --force", async () => {
    const { fs } = memoryFs({ "/app": "a file" });
    await expect(checkTarget(fs, "/app", true)).rejects.toThrow(/is not a directory/);
  });
});

describe("writeProject", () => {
  it.each(["../evil", "/etc/evil", "src/../../evil", "a\\..\\..\\evil"])("refuses %s, a path that is not inside the project, before writing anything", async (path) => {
    const { fs, volume } = memoryFs({ "/home/.keep": "" });
    await expect(writeProject(fs, "/home/app", new Map([...project, [path, "x"]]))).rejects.toThrow(/^refusing to write .*: not a path inside the project$/);
    expect(Object.keys(volume.toJSON())).toEqual(["/home/.keep"]);
  });

  it("creates a new directory with every file and no staging left over", async () => {
    const { fs, volume } = memoryFs({ "/home/.keep": "" });
    const result = await writeProject(fs, "/home/app", project);
    expect(result).toEqual({ created: ["package.json", "src/index.ts"], replaced: [] });
    expect(volume.toJSON()).toEqual({
      "/home/.keep": "",
      "/home/app/package.json": "{}\n",
      "/home/app/src/index.ts": "export {};\n",
    });
  });

  it("with --force, replaces same-name files and deletes nothing", async () => {
    const { fs, volume } = memoryFs({ "/app/package.json": "old", "/app/notes.txt": "mine", "/app/src/keep.ts": "mine" });
    const result = await writeProject(fs, "/app", project);
    expect(result).toEqual({ created: ["src/index.ts"], replaced: ["package.json"] });
    expect(volume.toJSON()).toEqual({
      "/app/package.json": "{}\n",
      "/app/notes.txt": "mine",
      "/app/src/keep.ts": "mine",
      "/app/src/index.ts": "export {};\n",
    });
  });

  it("leaves nothing behind when writing fails midway", async () => {
    const { fs, volume } = memoryFs({ "/home/.keep": "" });
    let writes = 0;
    const failing: FileSystem = {
      ...fs,
      writeFile: async (path, data) => {
        if (++writes === 2) throw Object.assign(new Error("ENOSPC: no space left"), { code: "ENOSPC" });
        return fs.writeFile(path, data);
      },
    };
    await expect(writeProject(failing, "/home/app", project)).rejects.toThrow(/ENOSPC/);
    expect(volume.toJSON()).toEqual({ "/home/.keep": "" });
  });
});

describe("writeProject into a directory with symbolic links (SPEC §7)", () => {
  it.each([
    ["a linked folder on the way", (volume: Volume) => volume.symlinkSync("/elsewhere", "/app/src"), "src is a symbolic link"],
    ["a linked file", (volume: Volume) => volume.symlinkSync("/elsewhere/theirs", "/app/package.json"), "package.json is a symbolic link"],
    ["a dangling link", (volume: Volume) => volume.symlinkSync("/nowhere/file", "/app/package.json"), "package.json is a symbolic link"],
    ["a link back into the project", (volume: Volume) => volume.symlinkSync("/app/lib", "/app/src"), "src is a symbolic link"],
    ["a folder where a file goes", (volume: Volume) => volume.mkdirSync("/app/package.json"), "package.json is not a regular file"],
    ["a file where a folder goes", (volume: Volume) => volume.writeFileSync("/app/src", "x"), "src is a file where a folder is expected"],
  ] as const)("refuses %s, writing nothing anywhere", async (_, arrange, message) => {
    const { fs, volume } = memoryFs({ "/app/notes.txt": "mine", "/app/lib/a.ts": "a", "/elsewhere/theirs": "theirs" });
    arrange(volume);
    const before = volume.toJSON();
    const error = await writeProject(fs, "/app", project).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toContain(message);
    expect(volume.toJSON()).toEqual(before);
  });

  it("refuses a target that is itself a link, naming where it points", async () => {
    const { fs, volume } = memoryFs({ "/elsewhere/.keep": "" });
    volume.symlinkSync("/elsewhere", "/app");
    await expect(checkTarget(fs, "/app", true)).rejects.toThrow(/"\/app" is a symbolic link \(to "\/elsewhere"\)/);
    await expect(writeProject(fs, "/app", project)).rejects.toThrow(UsageError);
    expect(volume.toJSON()).toEqual({ "/elsewhere/.keep": "" });
  });

  it("leaves a link on a path it does not write alone", async () => {
    const { fs, volume } = memoryFs({ "/app/notes.txt": "mine", "/elsewhere/.keep": "" });
    volume.symlinkSync("/elsewhere", "/app/docs");
    await writeProject(fs, "/app", project);
    expect(volume.readlinkSync("/app/docs")).toBe("/elsewhere");
    expect(volume.readFileSync("/app/src/index.ts", "utf8")).toBe("export {};\n");
  });
});

describe("the .gitignore of a directory written into with --force", () => {
  const ours = "node_modules/\n.dev.vars\n";
  it("keeps every line of theirs, after ours, so their rules decide last", () => {
    const merged = mergeGitignore(ours, "secrets/\n!node_modules/keep\nid_rsa");
    expect(merged.startsWith(ours)).toBe(true);
    expect(merged.endsWith("secrets/\n!node_modules/keep\nid_rsa\n")).toBe(true);
  });

  it("is merged once: a merged file stays as it is", () => {
    const merged = mergeGitignore(ours, "secrets/\n");
    expect(mergeGitignore(ours, merged)).toBe(merged);
    expect(mergeGitignore(ours, ours)).toBe(ours);
  });
});

describe("writeProject on the real file system (the CLI's nodeFileSystem)", () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), "cma-write-"));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it("writes every file, in one rename, and leaves no staging folder", async () => {
    const target = join(root, "app");
    const written = await writeProject(nodeFileSystem, target, project);
    expect(written).toEqual({ created: ["package.json", "src/index.ts"], replaced: [] });
    expect(readFileSync(join(target, "src", "index.ts"), "utf8")).toBe("export {};\n");
    expect(readdirSync(root)).toEqual(["app"]);
  });

  it("replaces files with --force and keeps the directory's own", async () => {
    const target = join(root, "app");
    mkdirSync(join(target, "src"), { recursive: true });
    writeFileSync(join(target, "package.json"), "old");
    writeFileSync(join(target, "notes.txt"), "mine");
    const written = await writeProject(nodeFileSystem, target, project);
    expect(written).toEqual({ created: ["src/index.ts"], replaced: ["package.json"] });
    expect(readFileSync(join(target, "package.json"), "utf8")).toBe("{}\n");
    expect(readFileSync(join(target, "notes.txt"), "utf8")).toBe("mine");
  });

  it("fails as a rejected promise carrying Node's error code, as node:fs/promises would", async () => {
    const missing = join(root, "missing");
    const reading = nodeFileSystem.readFile(missing, "utf8");
    await expect(reading).rejects.toMatchObject({ code: "ENOENT" });
    expect(await exists(nodeFileSystem, missing)).toBe(false);
    writeFileSync(join(root, "file"), "");
    await expect(writeProject(nodeFileSystem, join(root, "file", "app"), project)).rejects.toMatchObject({ code: "ENOTDIR" });
    expect(readdirSync(root)).toEqual(["file"]);
  });
});
