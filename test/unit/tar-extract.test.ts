import { chmodSync, existsSync, linkSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { gzipSync } from "node:zlib";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { create, extract, type TarEntry } from "../../src/render/tar-extract.js";
import { paxRecords, type TarHeader, tar } from "../support/tarball.js";

/**
 * The tar reader the bundle gives giget in place of node-tar (scripts/build.mjs): templates come
 * from the network, so it writes only files and folders, only inside its folder (SPEC §7).
 */
let root: string;
/** Where the archive is extracted; `root` around it must stay as it was. */
let cwd: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "cma-tar-"));
  cwd = join(root, "out");
  mkdirSync(cwd);
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

async function extractArchive(archive: Buffer, onReadEntry?: (entry: TarEntry) => void): Promise<void> {
  const file = join(root, "t.tar.gz");
  writeFileSync(file, archive);
  try {
    await extract({ file, cwd, onReadEntry });
  } finally {
    rmSync(file);
  }
}

const extractTar = (entries: TarHeader[], onReadEntry?: (entry: TarEntry) => void) => extractArchive(gzipSync(tar(entries)), onReadEntry);

/** Every path under `dir`, `/`-separated, folders ending in `/`. */
function tree(dir = cwd): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .map((entry) => join(entry.parentPath, entry.name).slice(dir.length + 1) + (entry.isDirectory() ? "/" : ""))
    .sort();
}

const read = (path: string) => readFileSync(join(cwd, path), "utf8");

/** giget's own onReadEntry (giget/dist/_chunks/giget.mjs): drop the top folder, keep `subdir` only. */
function gigetRewrite(subdir = "", ignore?: (path: string) => boolean) {
  return (entry: TarEntry) => {
    entry.path = entry.path.split("/").splice(1).join("/");
    if (subdir)
      if (entry.path.startsWith(`${subdir}/`)) entry.path = entry.path.slice(subdir.length);
      else entry.path = "";
    if (ignore && entry.path && ignore(entry.path.replace(/^\//, ""))) entry.path = "";
  };
}

describe("extract: files and folders", () => {
  it("writes files with their content and folders, also a file whose folder has no entry", async () => {
    await extractTar([
      { name: "top/", type: "5", mode: 0o755 },
      { name: "top/manifest.json", body: "{}\n" },
      { name: "top/parts/", type: "5" },
      { name: "top/parts/a.hbs", body: "A {{x}}" },
      { name: "top/deep/er/b.txt", body: "" },
      { name: "top/empty/", type: "5" },
    ]);
    expect(tree()).toEqual(["top/", "top/deep/", "top/deep/er/", "top/deep/er/b.txt", "top/empty/", "top/manifest.json", "top/parts/", "top/parts/a.hbs"]);
    expect(read("top/manifest.json")).toBe("{}\n");
    expect(read("top/parts/a.hbs")).toBe("A {{x}}");
    expect(read("top/deep/er/b.txt")).toBe("");
  });

  it("a body longer than a block, and a later entry of the same path replacing an earlier one", async () => {
    const long = "x".repeat(1500);
    await extractTar([
      { name: "a.txt", body: "first" },
      { name: "b.txt", body: long },
      { name: "a.txt", body: "second" },
    ]);
    expect(read("a.txt")).toBe("second");
    expect(read("b.txt")).toBe(long);
  });

  it("reads a plain (not gzipped) tar too", async () => {
    await extractArchive(tar([{ name: "top/a.txt", body: "plain" }]), gigetRewrite());
    expect(tree()).toEqual(["a.txt"]);
    expect(read("a.txt")).toBe("plain");
  });

  it("onReadEntry renames entries as giget does: top folder dropped, subdir kept, an empty path skipped", async () => {
    const entries: TarHeader[] = [
      { name: "repo-abc123/", type: "5" },
      { name: "repo-abc123/README.md", body: "repo readme" },
      { name: "repo-abc123/templates/", type: "5" },
      { name: "repo-abc123/templates/mine/", type: "5" },
      { name: "repo-abc123/templates/mine/manifest.json", body: "{}" },
      { name: "repo-abc123/templates/mine/parts/p.hbs", body: "p" },
      { name: "repo-abc123/templates/mine-not/x.txt", body: "not in the subdir" },
    ];
    await extractTar(entries, gigetRewrite("templates/mine"));
    // giget's rewrite leaves "/manifest.json": the leading "/" means the extraction folder, as in node-tar.
    expect(tree()).toEqual(["manifest.json", "parts/", "parts/p.hbs"]);
    expect(read("manifest.json")).toBe("{}");

    rmSync(cwd, { recursive: true });
    mkdirSync(cwd);
    await extractTar(entries, gigetRewrite("", (path) => path.endsWith(".md")));
    expect(tree()).toEqual(["templates/", "templates/mine-not/", "templates/mine-not/x.txt", "templates/mine/", "templates/mine/manifest.json", "templates/mine/parts/", "templates/mine/parts/p.hbs"]);
  });

  it("long names: a pax path, a GNU long name, the ustar prefix; a global pax path is not a name", async () => {
    const longPath = `top/${"d".repeat(80)}/${"e".repeat(80)}/${"é".repeat(30)}.txt`;
    const gnuPath = `top/${"g".repeat(120)}.txt`;
    await extractTar(
      [
        { name: "pax_global_header", type: "g", body: paxRecords({ path: "ignored/global.txt", comment: "abc123" }) },
        { name: "PaxHeaders/x", type: "x", body: paxRecords({ path: longPath, mtime: "1.5" }) },
        { name: "top/truncated-name", body: "pax" },
        { name: "././@LongLink", type: "L", body: `${gnuPath}\0` },
        { name: "top/truncated-gnu", body: "gnu" },
        { name: "file.txt", prefix: "top/in/prefix", body: "prefix" },
        { name: "top/after.txt", body: "names apply to one entry only" },
      ],
      gigetRewrite(),
    );
    expect(read(longPath.slice(4))).toBe("pax");
    expect(read(gnuPath.slice(4))).toBe("gnu");
    expect(read("in/prefix/file.txt")).toBe("prefix");
    expect(read("after.txt")).toBe("names apply to one entry only");
    expect(tree().filter((path) => !path.endsWith("/"))).toHaveLength(4);
  });
});

describe("extract: nothing outside its folder, only files and folders (SPEC §7)", () => {
  const outside = () => join(root, "outside");

  it.each([
    ["a parent segment", "../outside"],
    ["a parent segment in the middle", "a/../../outside"],
    ["a parent segment behind a backslash", "a\\..\\..\\outside"],
    ["an absolute path", "<root>/outside"],
    ["a Windows drive", "C:\\outside"],
    ["a Windows UNC path", "\\\\server\\share\\outside"],
  ])("an archive with %s is refused, and nothing is written anywhere", async (_, name) => {
    const path = name.replace("<root>", root);
    await expect(
      extractTar([
        { name: "top/first.txt", body: "before it" },
        { name: path, body: "escaped" },
      ]),
    ).rejects.toThrow(/outside the folder it is extracted to/);
    expect(readdirSync(root)).toEqual(["out"]);
    expect(tree()).toEqual([]);
  });

  it("the same when the name is long (pax), or when onReadEntry makes it escape", async () => {
    await expect(extractTar([{ name: "x", type: "x", body: paxRecords({ path: `top/${"a/".repeat(60)}${"../".repeat(62)}outside` }) }, { name: "x", body: "escaped" }])).rejects.toThrow(
      /outside the folder/,
    );
    await expect(
      extractTar([{ name: "top/a.txt", body: "escaped" }], (entry) => {
        entry.path = "../outside";
      }),
    ).rejects.toThrow(/outside the folder/);
    expect(readdirSync(root)).toEqual(["out"]);
    expect(tree()).toEqual([]);
  });

  it("skips symbolic links, hard links, devices and fifos; writes the files around them", async () => {
    await extractTar(
      [
        { name: "top/link", type: "2", link: "/etc/passwd" },
        { name: "top/up", type: "2", link: "../../outside" },
        { name: "top/hard", type: "1", link: "top/a.txt" },
        { name: "top/dev", type: "3" },
        { name: "top/block", type: "4" },
        { name: "top/fifo", type: "6" },
        { name: "top/a.txt", body: "kept" },
      ],
      gigetRewrite(),
    );
    expect(tree()).toEqual(["a.txt"]);
    expect(read("a.txt")).toBe("kept");
    expect(readdirSync(root)).toEqual(["out"]);
  });

  it("never writes through a symbolic link already in the folder: not a folder one, not a file one", async () => {
    mkdirSync(outside());
    writeFileSync(join(outside(), "target.txt"), "untouched");
    symlinkSync(outside(), join(cwd, "dir"));
    symlinkSync(join(outside(), "target.txt"), join(cwd, "file.txt"));
    await expect(extractTar([{ name: "dir/x.txt", body: "through the link" }])).rejects.toThrow(/dir is a symbolic link/);
    await expect(extractTar([{ name: "file.txt", body: "through the link" }])).rejects.toThrow(/file.txt is a symbolic link/);
    await expect(extractTar([{ name: "dir/", type: "5" }])).rejects.toThrow(/dir is a symbolic link/);
    expect(readdirSync(outside())).toEqual(["target.txt"]);
    expect(readFileSync(join(outside(), "target.txt"), "utf8")).toBe("untouched");
    expect(lstatSync(join(cwd, "file.txt")).isSymbolicLink()).toBe(true);
  });

  it("replaces a file already there instead of writing into it: a hard link to a file outside stays untouched", async () => {
    mkdirSync(outside());
    writeFileSync(join(outside(), "target.txt"), "untouched");
    linkSync(join(outside(), "target.txt"), join(cwd, "file.txt"));
    await extractTar([{ name: "file.txt", body: "new content" }]);
    expect(read("file.txt")).toBe("new content");
    expect(readFileSync(join(outside(), "target.txt"), "utf8")).toBe("untouched");
  });

  it("drops setuid, setgid, sticky and write-for-others bits: files are 0644 or 0755, folders 0755", async () => {
    await extractTar([
      { name: "suid", body: "#!/bin/sh\n", mode: 0o4755 },
      { name: "sgid", body: "x", mode: 0o2777 },
      { name: "plain", body: "x", mode: 0o666 },
      { name: "d/", type: "5", mode: 0o1777 },
    ]);
    const mode = (path: string) => statSync(join(cwd, path)).mode & 0o7777;
    expect(mode("suid") & ~0o755).toBe(0);
    expect(mode("suid") & 0o100).toBe(0o100);
    expect(mode("sgid") & ~0o755).toBe(0);
    expect(mode("plain") & ~0o644).toBe(0);
    expect(mode("d") & ~0o755).toBe(0);
  });

  it("refuses a header whose checksum is wrong, and writes nothing", async () => {
    const archive = tar([
      { name: "a.txt", body: "fine" },
      { name: "b.txt", body: "tampered" },
    ]);
    archive.writeUInt8(archive.readUInt8(1025) ^ 1, 1025); // the second header's name: "b.txt" → "c.txt" in transit
    await expect(extractArchive(gzipSync(archive))).rejects.toThrow(/checksum/);
    expect(tree()).toEqual([]);
  });

  it("refuses an archive cut short, and a gzip stream that is not one", async () => {
    const archive = tar([{ name: "a.txt", body: "y".repeat(2000) }]);
    await expect(extractArchive(gzipSync(archive.subarray(0, 1024)))).rejects.toThrow(/ends in the middle/);
    await expect(extractArchive(gzipSync(archive).subarray(0, 40))).rejects.toThrow(/not a valid .tar.gz/);
    expect(tree()).toEqual([]);
  });

  it("refuses an archive that unpacks to more than 50 MB, and one of more than 10 000 entries", async () => {
    const big = tar([{ name: "zeros.bin", body: Buffer.alloc(51 * 1024 * 1024) }]);
    await expect(extractArchive(gzipSync(big))).rejects.toThrow(/more than 50 MB/);
    const many = Array.from({ length: 10_001 }, (_, i): TarHeader => ({ name: `d${i}/`, type: "5" }));
    await expect(extractTar(many)).rejects.toThrow(/more than 10000 entries/);
    expect(tree()).toEqual([]);
  });
});

describe("create: giget's git sources (git:, github+git:, …) pack their clone with it", () => {
  it("packs files and folders under ./, leaving out what filter refuses and symbolic links; extract reads it back", async () => {
    const src = join(root, "clone");
    mkdirSync(join(src, ".git", "objects"), { recursive: true });
    writeFileSync(join(src, ".git", "HEAD"), "ref: refs/heads/main\n");
    mkdirSync(join(src, "parts", "a".repeat(120)), { recursive: true });
    writeFileSync(join(src, "manifest.json"), "{}\n");
    writeFileSync(join(src, "parts", "a".repeat(120), "long.hbs"), "long");
    writeFileSync(join(src, "run.sh"), "#!/bin/sh\n");
    chmodSync(join(src, "run.sh"), 0o755);
    symlinkSync("/etc/passwd", join(src, "link"));
    const seen: string[] = [];
    const filter = (path: string) => {
      seen.push(path);
      return !path.startsWith("./.git/") && path !== "./.git";
    };
    const chunks: Buffer[] = [];
    const stream = create({ gzip: true, cwd: src, filter }, ["."]).pipe(new PassThrough());
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    expect(seen).toContain("./.git");
    expect(seen).not.toContain("./.git/HEAD");

    await extractArchive(Buffer.concat(chunks), gigetRewrite());
    expect(tree()).toEqual(["manifest.json", "parts/", `parts/${"a".repeat(120)}/`, `parts/${"a".repeat(120)}/long.hbs`, "run.sh"]);
    expect(read(`parts/${"a".repeat(120)}/long.hbs`)).toBe("long");
    expect(statSync(join(cwd, "run.sh")).mode & 0o100).toBe(0o100);
    expect(existsSync(join(cwd, ".git"))).toBe(false);
  });

  it("a folder it cannot read ends the stream it was piped into with the error", async () => {
    const stream = create({ gzip: true, cwd: join(root, "no-such-folder") }, ["."]).pipe(new PassThrough());
    await expect(
      (async () => {
        for await (const _ of stream);
      })(),
    ).rejects.toThrow(/ENOENT/);
  });
});
