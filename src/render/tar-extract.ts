/**
 * The two things giget takes from node-tar, written small for the bundle (scripts/build.mjs puts
 * this module where giget imports its copy of node-tar, which is 83 kB).
 *
 * `extract` unpacks the .tar.gz giget downloaded. Templates come from the network (SPEC §7), so it
 * writes only regular files and folders, only inside `cwd`, never through a symbolic link, with
 * plain modes, and refuses an archive that is damaged, tries to escape, or is too big: before
 * writing anything, so a refused archive leaves nothing behind.
 *
 * `create` packs a git clone for giget's git sources (`git:`, `github+git:`, …).
 */
import { constants } from "node:fs";
import { lstat, mkdir, open, readdir, readFile, unlink } from "node:fs/promises";
import { join, resolve, sep } from "node:path";
import { Readable, pipeline } from "node:stream";
import { promisify } from "node:util";
import { createGzip, gunzip } from "node:zlib";

/** Templates are a few dozen small files: these bounds stop a zip bomb or a mistaken repository early. */
const MAX_BYTES = 50 * 1024 * 1024;
const MAX_ENTRIES = 10_000;
const BLOCK = 512;

/** What onReadEntry sees, as in node-tar: setting `path` renames the entry; "" skips it. */
export type TarEntry = { path: string; type: "File" | "Directory" | "Other" };

export async function extract(options: { file: string; cwd: string; onReadEntry?: (entry: TarEntry) => void }): Promise<void> {
  const cwd = resolve(options.cwd);
  const entries = readEntries(await unpackedArchive(options.file));
  if (entries.length > MAX_ENTRIES) throw new Error(`the archive has more than ${MAX_ENTRIES} entries: too many for a template`);
  const writes: { path: string; entry: RawEntry }[] = [];
  for (const entry of entries) {
    checkInside(entry.name);
    const named: TarEntry = { path: entry.name, type: entry.type };
    options.onReadEntry?.(named);
    // giget's rewrite leaves a leading "/" when it keeps a subfolder ("/manifest.json"); node-tar
    // reads that as relative to cwd, and so do we. What is left must still stay inside.
    const path = named.path.replace(/^\/+/, "");
    if (path === "" || entry.type === "Other") continue; // links, devices, fifos: never written
    checkInside(path);
    writes.push({ path, entry });
  }
  const made = new Set<string>();
  for (const { path, entry } of writes) {
    const segments = path.split(/[\\/]/).filter((segment) => segment !== "" && segment !== ".");
    const folders = entry.type === "Directory" ? segments : segments.slice(0, -1);
    await makeFolders(cwd, folders, made);
    if (entry.type === "File" && segments.length > 0) await writeFile(cwd, segments, entry);
  }
}

/** The archive, gunzipped if it is gzipped (giget always downloads .tar.gz, but a server may send a plain .tar). */
async function unpackedArchive(file: string): Promise<Buffer> {
  const data = await readFile(file);
  if (data[0] !== 0x1f || data[1] !== 0x8b) {
    if (data.length > MAX_BYTES) throw tooBig();
    return data;
  }
  try {
    // maxOutputLength stops a small download that unpacks to gigabytes before it fills memory.
    return await promisify(gunzip)(data, { maxOutputLength: MAX_BYTES });
  } catch (error) {
    if ((error as { code?: string }).code === "ERR_BUFFER_TOO_LARGE") throw tooBig();
    throw new Error(`the archive is not a valid .tar.gz (${(error as Error).message})`);
  }
}

const tooBig = () => new Error(`the archive unpacks to more than ${MAX_BYTES / 1024 / 1024} MB: too big for a template`);

type RawEntry = { name: string; type: TarEntry["type"]; mode: number; body: Buffer };

/** Parses every header of a ustar archive, with the pax (`x`) and GNU (`L`) long names. */
function readEntries(data: Buffer): RawEntry[] {
  const entries: RawEntry[] = [];
  let longName: string | undefined;
  for (let offset = 0; offset + BLOCK <= data.length; ) {
    const header = data.subarray(offset, offset + BLOCK);
    if (header.every((byte) => byte === 0)) break; // the end-of-archive blocks
    // A checksum that does not match means a damaged download (or a header that is not one):
    // reading on would take file content for names.
    if (number(header, 148, 8) !== checksum(header)) throw new Error(`the archive is damaged: a header's checksum does not match (at byte ${offset})`);
    const flag = String.fromCharCode(header[156] ?? 0);
    const size = number(header, 124, 12);
    const body = data.subarray(offset + BLOCK, offset + BLOCK + size);
    if (body.length < size) throw new Error("the archive ends in the middle of an entry");
    offset += BLOCK + Math.ceil(size / BLOCK) * BLOCK;
    if (flag === "x") longName = paxPath(body) ?? longName;
    else if (flag === "L") longName = text(body, 0, body.length);
    // "g" (a pax global header, as GitHub's archives start with) names no entry; node-tar ignores a path in it too.
    else if (flag === "g" || flag === "K") continue;
    else {
      entries.push({ name: longName ?? ustarName(header), type: typeOf(flag), mode: number(header, 100, 8), body });
      longName = undefined;
    }
  }
  return entries;
}

function typeOf(flag: string): TarEntry["type"] {
  if (flag === "0" || flag === "\0" || flag === "7") return "File";
  return flag === "5" ? "Directory" : "Other";
}

/** The name field, behind the ustar prefix field when there is one (not in GNU's "ustar  " headers). */
function ustarName(header: Buffer): string {
  const name = text(header, 0, 100);
  const prefix = header.toString("latin1", 257, 263) === "ustar\0" ? text(header, 345, 155) : "";
  return prefix ? `${prefix}/${name}` : name;
}

/** The `path` record of a pax header: records are "<length> key=value\n", the length in bytes. */
function paxPath(body: Buffer): string | undefined {
  let path: string | undefined;
  for (let at = 0; at < body.length; ) {
    const space = body.indexOf(0x20, at);
    const length = Number(body.toString("latin1", at, space));
    if (space === -1 || !Number.isInteger(length) || length <= space - at) throw new Error("the archive is damaged: a pax header cannot be read");
    const record = body.toString("utf8", space + 1, at + length - 1);
    if (record.startsWith("path=")) path = record.slice(5);
    at += length;
  }
  return path;
}

const text = (block: Buffer, start: number, length: number) => {
  const end = block.indexOf(0, start);
  return block.toString("utf8", start, end === -1 || end > start + length ? start + length : end);
};

/** An octal field. Base-256 ones (files over 8 GB) are refused: no template has one. */
function number(block: Buffer, start: number, length: number): number {
  const digits = text(block, start, length).trim();
  if (!/^[0-7]+$/.test(digits)) throw new Error(`the archive is damaged: a header field is not a number (${JSON.stringify(digits)})`);
  return Number.parseInt(digits, 8);
}

/** The sum of the header's bytes, the checksum field counted as eight spaces. */
function checksum(header: Buffer): number {
  let sum = 8 * 0x20;
  for (let i = 0; i < BLOCK; i++) if (i < 148 || i >= 156) sum += header[i] ?? 0;
  return sum;
}

/**
 * Refuses a name that could land outside cwd: absolute (`/x`, `\x`, `C:x`, `\\server\x`) or with
 * a `..` segment. Backslashes count as separators, as Windows reads them. The archive's own names
 * are checked, and the names onReadEntry gives them.
 */
function checkInside(path: string): void {
  const segments = path.split(/[\\/]/);
  if (/^[\\/]|^[A-Za-z]:/.test(path) || segments.includes("..")) {
    throw new Error(`the archive has an entry that would be written outside the folder it is extracted to: ${JSON.stringify(path)}`);
  }
}

/** Makes each folder on the way, one at a time, refusing a symbolic link or a file where a folder should be. */
async function makeFolders(cwd: string, segments: string[], made: Set<string>): Promise<void> {
  let path = cwd;
  for (const segment of segments) {
    path = join(path, segment);
    if (made.has(path)) continue;
    try {
      await mkdir(path, { mode: 0o755 });
    } catch (error) {
      if ((error as { code?: string }).code !== "EEXIST") throw error;
      // lstat, not stat: a link to a folder elsewhere must not become the way out of cwd.
      const info = await lstat(path);
      if (!info.isDirectory()) throw new Error(`${relativeName(cwd, path)} is ${info.isSymbolicLink() ? "a symbolic link" : "not a folder"}: not written through`);
    }
    made.add(path);
  }
}

async function writeFile(cwd: string, segments: string[], entry: RawEntry): Promise<void> {
  const path = join(cwd, ...segments);
  const existing = await lstat(path).catch(() => undefined);
  if (existing && !existing.isFile()) throw new Error(`${relativeName(cwd, path)} is ${existing.isSymbolicLink() ? "a symbolic link" : "not a file"}: not written through`);
  // A file already there (an earlier entry of the same name) is replaced, not written into: it
  // could be a hard link to a file outside. O_EXCL then refuses whatever appears at the path
  // meanwhile, a symbolic link included.
  if (existing) await unlink(path);
  // Modes: executable or not, nothing more: no setuid/setgid/sticky bits, no writing for others.
  const mode = entry.mode & 0o111 ? 0o755 : 0o644;
  const file = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, mode);
  try {
    await file.writeFile(entry.body);
  } finally {
    await file.close();
  }
}

const relativeName = (cwd: string, path: string) => path.slice(cwd.length + sep.length);

/**
 * A gzipped tar of `cwd` (giget passes ["."]), its entries named "./…" as node-tar names them:
 * folders and regular files only (a symbolic link in a clone would be skipped by extract anyway),
 * `filter` deciding on each. giget only pipes it into a file; an error ends that stream with it.
 */
export function create(options: { gzip?: boolean; cwd: string; filter?: (path: string) => boolean }, _paths: string[]): { pipe<T extends NodeJS.WritableStream>(destination: T): T } {
  return {
    pipe(destination) {
      pipeline(Readable.from(packed(options.cwd, options.filter ?? (() => true))), createGzip(), destination, () => {});
      return destination;
    },
  };
}

async function* packed(cwd: string, filter: (path: string) => boolean): AsyncGenerator<Buffer> {
  const folders = ["."];
  for (let folder = folders.shift(); folder !== undefined; folder = folders.shift()) {
    const children = (await readdir(join(cwd, folder), { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1));
    for (const child of children) {
      const path = `${folder}/${child.name}`;
      if (!(child.isDirectory() || child.isFile()) || !filter(path)) continue;
      if (child.isDirectory()) {
        folders.push(path);
        yield* headers(`${path}/`, "5", 0o755, 0);
      } else {
        const body = await readFile(join(cwd, path));
        const { mode } = await lstat(join(cwd, path));
        yield* headers(path, "0", mode & 0o111 ? 0o755 : 0o644, body.length);
        yield body;
        yield Buffer.alloc((BLOCK - (body.length % BLOCK)) % BLOCK);
      }
    }
  }
  yield Buffer.alloc(2 * BLOCK);
}

/** A ustar header, behind a pax header with the path when the name does not fit its 100 bytes. */
function* headers(path: string, flag: "0" | "5" | "x", mode: number, size: number): Generator<Buffer> {
  if (Buffer.byteLength(path) > 99) {
    const record = ` path=${path}\n`;
    let length = Buffer.byteLength(record) + 1;
    while (`${length}`.length + Buffer.byteLength(record) !== length) length++;
    const pax = Buffer.from(`${length}${record}`);
    yield* headers("./PaxHeader", "x", 0o644, pax.length);
    yield pax;
    yield Buffer.alloc((BLOCK - (pax.length % BLOCK)) % BLOCK);
  }
  const header = Buffer.alloc(BLOCK);
  const put = (start: number, length: number, value: string) => header.write(value, start, length, "utf8");
  const octal = (start: number, length: number, value: number) => put(start, length, `${value.toString(8).padStart(length - 1, "0")}\0`);
  // A long name is in the pax header; readers without pax get a shortened, ASCII one.
  put(0, 100, Buffer.byteLength(path) > 99 ? path.replace(/[^\x20-\x7e]/g, "_").slice(0, 99) : path);
  octal(100, 8, mode);
  octal(108, 8, 0);
  octal(116, 8, 0);
  octal(124, 12, size);
  octal(136, 12, 0);
  put(156, 1, flag);
  put(257, 8, "ustar\x0000");
  octal(148, 8, checksum(header));
  yield header;
}
