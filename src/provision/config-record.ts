import { randomBytes } from "node:crypto";
import { dirname, join } from "node:path";
import { applyEdits, type JSONPath, modify } from "jsonc-parser";
import type { FileSystem } from "../fs.js";

/**
 * Writes what provisioning learns into `mcp-access.json` as soon as it is
 * known, so a run that fails half way leaves a record the next run starts
 * from. Each value is set with a jsonc-parser edit: the user's key order,
 * indentation and line endings stay as they are. Each write goes to a
 * temporary file beside it first, then is renamed over it.
 */
export class ConfigRecord {
  #text: string;

  private constructor(
    private readonly fs: FileSystem,
    readonly path: string,
    text: string,
  ) {
    this.#text = text;
  }

  static async open(fs: FileSystem, path: string): Promise<ConfigRecord> {
    return new ConfigRecord(fs, path, await fs.readFile(path, "utf8"));
  }

  get text(): string {
    return this.#text;
  }

  async set(path: JSONPath, value: unknown): Promise<void> {
    const edits = modify(this.#text, path, value, { formattingOptions: formattingOf(this.#text) });
    if (!edits.length) return;
    const text = applyEdits(this.#text, edits);
    const staged = join(dirname(this.path), `.mcp-access.json.${randomBytes(4).toString("hex")}.tmp`);
    await this.fs.writeFile(staged, text);
    await this.fs.rename(staged, this.path);
    this.#text = text;
  }
}

function formattingOf(text: string) {
  const indent = /^([ \t]+)"/m.exec(text)?.[1] ?? "  ";
  return {
    insertSpaces: !indent.startsWith("\t"),
    tabSize: indent.startsWith("\t") ? 1 : indent.length,
    eol: text.includes("\r\n") ? "\r\n" : "\n",
  };
}
