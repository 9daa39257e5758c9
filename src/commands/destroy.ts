import type { ParsedArgs } from "../answers/args.js";
import { UsageError } from "../errors.js";
import type { FileSystem } from "../fs.js";
import type { ProvisionPrompter } from "../provision/context.js";
import type { Exec } from "../steps/exec.js";
import type { Ui } from "../ui.js";

export interface DestroyDeps {
  cwd: string;
  env: Record<string, string | undefined>;
  fs: FileSystem;
  exec: Exec;
  ui: Ui;
  prompter?: ProvisionPrompter;
}

/** `create-mcp-access destroy` (SPEC §10). Being built: issue 15. */
export async function destroyCommand(_args: ParsedArgs, _deps: DestroyDeps): Promise<number> {
  throw new UsageError("destroy is not available yet in create-mcp-access.");
}
