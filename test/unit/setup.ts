import { join } from "node:path";
import { writeJsTemplates } from "../../scripts/js-templates.mjs";
import { repoRoot } from "../support/processes.js";

/**
 * The JavaScript templates (`--lang js`) are build output, derived from the TypeScript ones:
 * made here too, so the unit tests render what a build of this checkout would ship.
 */
export default function setup() {
  writeJsTemplates(join(repoRoot, "templates"));
}
