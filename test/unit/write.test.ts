import { Volume, createFsFromVolume } from "memfs";
import { describe, expect, it } from "vitest";
import { checkTarget, writeProject } from "../../src/apply/write.js";
import { UsageError } from "../../src/errors.js";
import type { FileSystem } from "../../src/fs.js";

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
