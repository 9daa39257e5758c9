import { join } from "node:path";
import { repoRoot } from "./processes.js";

/**
 * Generated projects shared by the end-to-end test files: test/e2e/setup.ts
 * generates and installs each once per run (installing is the slow part).
 */
export const e2eRoot = join(repoRoot, ".tmp", "e2e");
export const selfHostedProject = join(e2eRoot, "self-hosted");
export const saasProject = join(e2eRoot, "saas");
