import type { ParsedArgs } from "../answers/args.js";
import { UsageError } from "../errors.js";
import type { FileSystem } from "../fs.js";
import type { Ui } from "../ui.js";

export interface DoctorDeps {
  cwd: string;
  env: Record<string, string | undefined>;
  fs: FileSystem;
  ui: Ui;
  print: (text: string) => void;
}

/** `create-mcp-access doctor` (SPEC §10). Being built: issue 15. */
export async function doctorCommand(_args: ParsedArgs, _deps: DoctorDeps): Promise<number> {
  throw new UsageError("doctor is not available yet in create-mcp-access.");
}
