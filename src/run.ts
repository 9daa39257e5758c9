import { rmSync } from "node:fs";
import { join } from "node:path";
import type { ParsedArgs } from "./answers/args.js";
import { create } from "./commands/create.js";
import { assertAvailable } from "./config/availability.js";
import { type Cancelled, ExitCode, isExpected } from "./errors.js";
import { nodeFileSystem } from "./fs.js";
import type { TemplateLoader } from "./render/templates.js";
import { packageRoot } from "./package-root.js";
import { exec, stopChildren } from "./steps/exec.js";
import { clackUi, plainUi } from "./ui.js";

type Clack = typeof import("@clack/prompts");

/**
 * Runs a parsed command: the real file system, processes and terminal wired
 * into create or regenerate. Expected errors become their exit code and a
 * message; anything else is a bug, reported with its stack.
 */
export async function run(args: ParsedArgs, version: string): Promise<number> {
  const env = process.env;
  // Decided once, before any prompt exists: with no TTY clack would wait forever (SPEC §3.3).
  const interactive = Boolean(process.stdin.isTTY && process.stdout.isTTY && !env.CI);
  // clack (and the readline and tty modules under it) loads only for a terminal: CI runs never pay for it.
  const clack: Clack | undefined = interactive ? await import("@clack/prompts") : undefined;
  const ui = clack ? clackUi(clack) : plainUi((text) => process.stdout.write(text), (text) => process.stderr.write(text));
  const root = packageRoot();

  // Ctrl-C after the project was written (during install, say): stop the installer first, so
  // nothing writes into the directory while it is removed, then remove what this run created.
  let created: string | undefined;
  let cancelling: Promise<never> | undefined;
  const cancel = async (): Promise<never> => {
    await stopChildren();
    if (created) rmSync(created, { recursive: true, force: true });
    process.stderr.write(created ? `\nCancelled: removed ${created}.\n` : "\nCancelled.\n");
    process.exit(ExitCode.cancelled);
  };
  const onInterrupt = () => void (cancelling ??= cancel());
  process.once("SIGINT", onInterrupt);
  const fs = nodeFileSystem;
  // Templates, rendering and each command load only when they are needed, so the first prompt
  // appears without them (SPEC §8).
  const schemaPath = join(root, "schema", "mcp-access.schema.json");
  const templates: TemplateLoader = async (config, projectDir) => {
    if (config.template === undefined) {
      const { loadTemplates } = await import("./render/templates.js");
      return loadTemplates(fs, join(root, "templates"), schemaPath, { only: config });
    }
    // --template: the checks of a third-party template (and giget, to fetch one) load only for it.
    const { loadCustomTemplates } = await import("./render/custom-templates.js");
    return loadCustomTemplates(fs, config.template, projectDir, schemaPath);
  };
  // What provision and destroy share: the project here, and a prompter unless --yes answered for it.
  const inProject = { cwd: process.cwd(), env, fs, exec, ui, ...(clack && !args.options.yes ? { prompter: clack } : {}) };
  let nothingDone = "nothing was created";
  try {
    assertAvailable(args.command, undefined, args.options);
    if (args.command === "provision") {
      nothingDone = "nothing was changed in Cloudflare";
      if (interactive) ui.intro("create-mcp-access provision");
      // Loaded only now: provisioning brings the Cloudflare SDK with it.
      const { provisionCommand } = await import("./commands/provision.js");
      return await provisionCommand(args, { ...inProject, loadTemplates: templates, generatorVersion: version });
    }
    if (args.command === "doctor") {
      nothingDone = "nothing was changed";
      const { doctorCommand } = await import("./commands/doctor.js");
      return await doctorCommand(args, { cwd: process.cwd(), env, fs, ui, print: (text) => void process.stdout.write(text), version });
    }
    if (args.command === "destroy") {
      nothingDone = "nothing was deleted";
      if (interactive) ui.intro("create-mcp-access destroy");
      const { destroyCommand } = await import("./commands/destroy.js");
      return await destroyCommand(args, inProject);
    }
    if (args.command === "regenerate") {
      nothingDone = "nothing was changed";
      const { regenerate } = await import("./commands/regenerate.js");
      return await regenerate(args, {
        cwd: process.cwd(),
        env,
        fs,
        ui,
        print: (text) => void process.stdout.write(text),
        prompter: clack,
        loadTemplates: templates,
        generatorVersion: version,
      });
    }
    if (interactive) ui.intro("create-mcp-access");
    await create(args, {
      cwd: process.cwd(),
      env,
      fs,
      exec,
      ui,
      prompter: clack,
      loadTemplates: templates,
      generatorVersion: version,
      onCreated: (target) => (created = target),
      // Complete, and about to touch Cloudflare: from here on Ctrl-C keeps the project (and its record of what exists there).
      onKept: () => (created = undefined),
    });
    return ExitCode.ok;
  } catch (error) {
    // The installer died of the same Ctrl-C: let the cancel path report it, not as a failure.
    if (cancelling) return cancelling;
    if (!isExpected(error)) throw error;
    if (error.exitCode === ExitCode.cancelled) {
      // Only prompts cancel this way. One asked after the project was written (whether to
      // provision) removes it too: a cancel leaves nothing behind.
      if (created) rmSync(created, { recursive: true, force: true });
      const outcome = (error as Cancelled).outcome ?? (created ? `removed ${created}` : nothingDone);
      if (clack) clack.cancel(`Cancelled: ${outcome}.`);
      else process.stderr.write(`Cancelled: ${outcome}.\n`);
    } else {
      ui.error(error.message, "details" in error ? error.details : []);
    }
    return error.exitCode;
  } finally {
    process.off("SIGINT", onInterrupt);
  }
}
