import { createFsFromVolume, Volume } from "memfs";
import { describe, expect, it } from "vitest";
import { applyChanges } from "../../src/apply/apply-plan.js";
import { withEol } from "../../src/apply/line-endings.js";
import { type Change, changesAnything, planRegeneration } from "../../src/apply/plan.js";
import type { FileSystem } from "../../src/fs.js";

const lines = (...items: string[]) => `${items.join("\n")}\n`;
const readme = lines("# srv", "", "About it.", "", "## Run", "", "npm run dev");
const readmeNow = readme.replace("# srv", "# srv2");

/** One file's plan: snapshot (before), disk (current), render (now); undefined = absent. */
function planOne(before: string | undefined, current: string | undefined, now: string | undefined, path = "README.md"): Change {
  const map = (text: string | undefined) => new Map(text === undefined ? [] : [[path, text]]);
  const [change] = planRegeneration({ snapshot: map(before), disk: map(current), next: map(now) });
  return change!;
}

describe("planRegeneration: each case of SPEC §6", () => {
  it("updates a file the user never touched", () => {
    expect(planOne(readme, readme, readmeNow)).toMatchObject({ kind: "updated", write: readmeNow, snapshot: readmeNow });
  });

  it("changes nothing when nothing changed (idempotence)", () => {
    const change = planOne(readme, readme, readme);
    expect(change.kind).toBe("unchanged");
    expect(changesAnything(change)).toBe(false);
  });

  it("keeps the user's edits and brings in the generator's", () => {
    const mine = readme.replace("About it.", "About my server.");
    expect(planOne(readme, mine, readmeNow)).toMatchObject({ kind: "merged", write: mine.replace("# srv", "# srv2"), snapshot: readmeNow, note: "your edits kept" });
  });

  it("leaves an edited file alone when the generator has nothing new for it", () => {
    const mine = readme.replace("About it.", "About my server.");
    const change = planOne(readme, mine, readme);
    expect(change).toMatchObject({ kind: "unchanged" });
    expect(changesAnything(change)).toBe(false);
  });

  it("marks overlapping edits as a conflict", () => {
    const change = planOne(readme, readme.replace("# srv", "# Mine"), readmeNow);
    expect(change).toMatchObject({ kind: "conflict", conflicts: 1, snapshot: readmeNow });
    expect(change.write).toMatch(/^<<<<<<< yours\n# Mine\n\|\|\|\|\|\|\| generated before\n# srv\n=======\n# srv2\n>>>>>>> generated now\n/);
  });

  it("keeps a file the user deleted deleted, and records the new render in the snapshot", () => {
    expect(planOne(readme, undefined, readmeNow)).toEqual({ path: "README.md", kind: "kept", snapshot: readmeNow, note: "you deleted it: it stays deleted" });
    expect(changesAnything(planOne(readme, undefined, readme))).toBe(false);
  });

  it("deletes a file no longer generated only if the user never edited it", () => {
    expect(planOne(readme, readme, undefined)).toMatchObject({ kind: "deleted", write: null, snapshot: null });
    expect(planOne(readme, `${readme}mine\n`, undefined)).toEqual({
      path: "README.md",
      kind: "kept",
      current: `${readme}mine\n`,
      snapshot: null,
      note: "no longer generated, but you edited it: it is yours now",
    });
    expect(planOne(readme, undefined, undefined)).toEqual({ path: "README.md", kind: "unchanged", snapshot: null });
  });

  it("creates a newly generated file, but never overwrites a file of the user's with that name", () => {
    expect(planOne(undefined, undefined, readme)).toMatchObject({ kind: "created", write: readme, snapshot: readme });
    const mine = planOne(undefined, "my own README\n", readme);
    expect(mine.kind).toBe("kept");
    expect(changesAnything(mine)).toBe(false);
    expect(planOne(undefined, readme, readme)).toEqual({ path: "README.md", kind: "unchanged", current: readme, snapshot: readme });
  });

  it("treats a file that differs only in line endings as unedited, and keeps its CRLF", () => {
    expect(planOne(readme, withEol(readme, "\r\n"), readmeNow)).toMatchObject({ kind: "updated", write: withEol(readmeNow, "\r\n") });
    expect(changesAnything(planOne(readme, withEol(readme, "\r\n"), readme))).toBe(false);
    // A snapshot git checked out with CRLF is the same snapshot.
    expect(changesAnything(planOne(withEol(readme, "\r\n"), readme, readme))).toBe(false);
  });

  it("merges package.json key by key", () => {
    const before = `${JSON.stringify({ name: "srv", dependencies: { zod: "^4" } }, null, 2)}\n`;
    const mine = `${JSON.stringify({ name: "srv", dependencies: { zod: "^4" }, scripts: { lint: "biome" } }, null, 2)}\n`;
    const now = `${JSON.stringify({ name: "srv", dependencies: { jose: "^6", zod: "^4" } }, null, 2)}\n`;
    const change = planOne(before, mine, now, "package.json");
    expect(change.kind).toBe("merged");
    expect(JSON.parse(change.write as string)).toEqual({ name: "srv", dependencies: { jose: "^6", zod: "^4" }, scripts: { lint: "biome" } });
  });

  it("leaves blocked paths alone, whatever the versions say", () => {
    const changes = planRegeneration({
      snapshot: new Map([["src/a.ts", "a"]]),
      disk: new Map(),
      next: new Map([["src/a.ts", "b"]]),
      blocked: new Map([["src/a.ts", "src is a symbolic link; regenerate does not follow links"]]),
    });
    expect(changes).toEqual([{ path: "src/a.ts", kind: "kept", note: "not touched: src is a symbolic link; regenerate does not follow links" }]);
  });
});

describe("applyChanges", () => {
  function project(files: Record<string, string>) {
    const volume = Volume.fromJSON(files, "/p");
    return { volume, fs: createFsFromVolume(volume).promises as unknown as FileSystem };
  }
  const initial = {
    "README.md": readme,
    "old.ts": "old\n",
    "lib/only.ts": "only\n",
    "run.sh": "#!/bin/sh\n",
    ".mcp-access/generated/README.md.snapshot": readme,
    ".mcp-access/generated/old.ts.snapshot": "old\n",
    ".mcp-access/generated/lib/only.ts.snapshot": "only\n",
    ".mcp-access/generated/run.sh.snapshot": "#!/bin/sh\n",
    "mine.txt": "mine\n",
  };
  const changes = (): Change[] =>
    planRegeneration({
      snapshot: new Map([["README.md", readme], ["old.ts", "old\n"], ["lib/only.ts", "only\n"], ["run.sh", "#!/bin/sh\n"]]),
      disk: new Map([["README.md", readme], ["old.ts", "old\n"], ["lib/only.ts", "only\n"], ["run.sh", "#!/bin/sh\n"]]),
      next: new Map([["README.md", readmeNow], ["run.sh", "#!/bin/sh\nexit 0\n"], ["src/new.ts", "new\n"]]),
    });

  it("writes, deletes and records the snapshot; empty folders go, other files stay", async () => {
    const { fs, volume } = project(initial);
    volume.chmodSync("/p/run.sh", 0o755);
    await applyChanges(fs, "/p", changes(), new Map([["run.sh", 0o755]]));
    const tree = volume.toJSON();
    expect(Object.keys(tree).sort()).toEqual([
      "/p/.mcp-access/generated/.gitignore",
      "/p/.mcp-access/generated/README.md.snapshot",
      "/p/.mcp-access/generated/run.sh.snapshot",
      "/p/.mcp-access/generated/src/new.ts.snapshot",
      "/p/README.md",
      "/p/mine.txt",
      "/p/run.sh",
      "/p/src/new.ts",
    ]);
    expect(tree["/p/README.md"]).toBe(readmeNow);
    expect(tree["/p/.mcp-access/generated/src/new.ts.snapshot"]).toBe("new\n");
    expect(volume.statSync("/p/run.sh").mode & 0o777).toBe(0o755);
    expect(volume.existsSync("/p/lib")).toBe(false);
  });

  it("changes nothing when a write fails while staging", async () => {
    const { fs, volume } = project(initial);
    let writes = 0;
    const failing: FileSystem = {
      ...fs,
      writeFile: async (path, data, options) => {
        if (++writes === 2) throw Object.assign(new Error("ENOSPC: no space left on device"), { code: "ENOSPC" });
        return fs.writeFile(path, data, options);
      },
    };
    await expect(applyChanges(failing, "/p", changes())).rejects.toThrow(/ENOSPC/);
    const tree = volume.toJSON();
    expect(Object.fromEntries(Object.entries(tree).map(([path, text]) => [path.slice(3), text]))).toEqual(initial);
  });

  it("updates the snapshot last: stopped half way, the old snapshot is still there", async () => {
    const { fs, volume } = project(initial);
    const renamed: string[] = [];
    const stopping: FileSystem = {
      ...fs,
      rename: async (from, to) => {
        if (to.includes("/.mcp-access/generated/")) throw new Error("stopped");
        renamed.push(to);
        return fs.rename(from, to);
      },
    };
    await expect(applyChanges(stopping, "/p", changes())).rejects.toThrow("stopped");
    expect(renamed.sort()).toEqual(["/p/README.md", "/p/run.sh", "/p/src/new.ts"]);
    expect(volume.readFileSync("/p/.mcp-access/generated/README.md.snapshot", "utf8")).toBe(readme);
    expect(Object.keys(volume.toJSON()).some((path) => path.includes(".staging-"))).toBe(false);
  });
});
