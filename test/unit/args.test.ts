import { describe, expect, it } from "vitest";
import { parseArgv } from "../../src/answers/args.js";
import { UsageError } from "../../src/errors.js";
import { helpText } from "../../src/help.js";

describe("parseArgv", () => {
  it("reads the directory, answers and where each came from", () => {
    const args = parseArgv([
      "my-server",
      "--auth",
      "saas",
      "--team=acme",
      "--idp",
      "github,google",
      "--idp",
      "okta",
      "--allow-email",
      "a@example.com",
      "--allow-domain",
      "example.com",
      "--downstream",
      "wiki=https://wiki.example.com",
      "--features",
      "tests,ci",
    ]);
    expect(args.command).toBe("create");
    expect(args.directory).toBe("my-server");
    expect(args.answers).toEqual({
      auth: "saas",
      team: "acme",
      idps: ["github", "google", "okta"],
      emails: ["a@example.com"],
      domains: ["example.com"],
      downstreams: ["wiki=https://wiki.example.com"],
      features: "tests,ci",
    });
    expect(args.origins.team).toBe("--team");
  });

  it("has run options with their defaults, and negations", () => {
    expect(parseArgv([]).options).toEqual({
      provision: undefined,
      deploy: undefined,
      adopt: false,
      configFile: undefined,
      pm: undefined,
      install: true,
      git: true,
      dryRun: false,
      check: false,
      force: false,
      yes: false,
      json: false,
    });
    const args = parseArgv(["--no-install", "--no-git", "--no-provision", "--deploy", "-y", "--dry-run", "--force", "--pm", "pnpm"]);
    expect(args.options).toMatchObject({ install: false, git: false, provision: false, deploy: true, yes: true, dryRun: true, force: true, pm: "pnpm" });
  });

  it("recognises the commands", () => {
    expect(parseArgv(["regenerate", "--dry-run"]).command).toBe("regenerate");
    expect(parseArgv(["provision"]).command).toBe("provision");
    expect(() => parseArgv(["provision", "somewhere"])).toThrow(/takes no directory/);
    expect(parseArgv(["doctor"]).command).toBe("doctor");
    expect(parseArgv(["destroy", "--yes"]).command).toBe("destroy");
    expect(() => parseArgv(["destroy", "somewhere"])).toThrow(/"destroy" takes no directory/);
  });

  it("accepts --json with doctor only", () => {
    expect(parseArgv(["doctor", "--json"]).options.json).toBe(true);
    expect(parseArgv(["doctor"]).options.json).toBe(false);
    expect(() => parseArgv(["srv", "--json"])).toThrow(/--json only applies to doctor/);
    expect(() => parseArgv(["destroy", "--json"])).toThrow(/--json only applies to doctor/);
  });

  it("accepts --check with regenerate only", () => {
    expect(parseArgv(["regenerate", "--check"]).options.check).toBe(true);
    expect(() => parseArgv(["srv", "--check"])).toThrow(UsageError);
    expect(() => parseArgv(["provision", "--check"])).toThrow(/--check only applies to regenerate/);
  });

  it("accepts --adopt where provisioning runs: provision, and create unless --no-provision; npm_config_adopt is read back with a note", () => {
    expect(parseArgv(["provision", "--adopt", "--yes"]).options).toMatchObject({ adopt: true, yes: true });
    expect(parseArgv(["srv", "--provision", "--adopt"]).options.adopt).toBe(true);
    expect(() => parseArgv(["regenerate", "--adopt"])).toThrow(/--adopt only applies to provisioning/);
    expect(() => parseArgv(["srv", "--no-provision", "--adopt"])).toThrow(/--adopt only applies to provisioning/);
    const swallowed = parseArgv(["provision"], { npm_config_adopt: "true" });
    expect(swallowed.options.adopt).toBe(true);
    expect(swallowed.notes).toEqual([expect.stringMatching(/Read --adopt from npm_config_adopt/)]);
    expect(helpText("0.0.0")).toMatch(/--adopt {2,}take over .* not provably this project's/);
  });

  it("rejects unknown options and suggests the closest one", () => {
    expect(() => parseArgv(["--atuh", "saas"])).toThrow(/Unknown option "--atuh". Did you mean --auth\?/);
    expect(() => parseArgv(["--frobnicate"])).toThrow(UsageError);
    expect(() => parseArgv(["--adpot"])).toThrow(/Did you mean --adopt\?/);
    // Names on Object.prototype are no options.
    for (const name of ["--constructor", "--__proto__", "--toString", "--no-constructor"]) expect(() => parseArgv([name])).toThrow(/Unknown option/);
  });

  it("rejects a missing option value and two directories", () => {
    expect(() => parseArgv(["--team"])).toThrow(/--team/);
    expect(() => parseArgv(["one", "two"])).toThrow(/Too many arguments/);
  });

  it("reads options npm swallowed from npm_config_*, says so, and lets argv win", () => {
    const args = parseArgv(["x", "--team", "acme"], {
      npm_config_auth: "saas",
      npm_config_team: "other",
      npm_config_install: "",
      npm_config_allow_email: "a@example.com",
    });
    expect(args.answers).toMatchObject({ auth: "saas", team: "acme", emails: ["a@example.com"] });
    expect(args.options.install).toBe(false);
    expect(args.notes).toHaveLength(3);
    expect(args.notes[0]).toMatch(/--auth saas from npm_config_auth.*-- --auth saas/);
  });

  it("never mistakes npm's own settings for options", () => {
    const args = parseArgv(["x"], { npm_config_yes: "true", npm_config_force: "true", npm_config_dry_run: "true", npm_config_git: "git" });
    expect(args.options).toMatchObject({ yes: false, force: false, dryRun: false, git: true });
    expect(args.notes).toEqual([]);
  });
});
