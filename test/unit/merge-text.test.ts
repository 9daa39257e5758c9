import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { eolOf, sameText, toLf, withEol } from "../../src/apply/line-endings.js";
import { hasConflictMarkers, mergeText, wholeFileConflict } from "../../src/apply/merge-text.js";

const lines = (...items: string[]) => `${items.join("\n")}\n`;

// A generated file, and the two kinds of later versions the merge sees.
const before = lines("# srv", "", "Run it:", "", "npm run dev", "", "## Deploy", "", "Set TEAM_DOMAIN.", "", "## Scripts", "", "dev, deploy");

describe("mergeText", () => {
  it("keeps the user's edit and brings in the generator's when they touch different lines", () => {
    const yours = before.replace("Run it:", "Run it locally (no account needed):");
    const now = before.replace("# srv", "# srv2").replace("dev, deploy", "dev, deploy, regenerate");
    expect(mergeText({ before, yours, now })).toEqual({
      text: yours.replace("# srv", "# srv2").replace("dev, deploy", "dev, deploy, regenerate"),
      conflicts: 0,
    });
  });

  it("merges line by line, not word by word", () => {
    // Word splitting (node-diff3's default) would merge these two edits of one line into nonsense.
    const yours = before.replace("Set TEAM_DOMAIN.", "Set TEAM_DOMAIN first.");
    const now = before.replace("Set TEAM_DOMAIN.", "Please set TEAM_DOMAIN.");
    expect(mergeText({ before, yours, now }).conflicts).toBe(1);
  });

  it("marks overlapping edits with yours / generated before / generated now", () => {
    const yours = before.replace("# srv", "# My server");
    const now = before.replace("# srv", "# srv2");
    const merged = mergeText({ before, yours, now });
    expect(merged.conflicts).toBe(1);
    expect(merged.text).toBe(
      lines("<<<<<<< yours", "# My server", "||||||| generated before", "# srv", "=======", "# srv2", ">>>>>>> generated now") +
        before.slice(before.indexOf("\n") + 1),
    );
    expect(hasConflictMarkers(merged.text)).toBe(true);
  });

  it("does not call the same change on both sides a conflict", () => {
    const both = before.replace("# srv", "# srv2");
    expect(mergeText({ before, yours: both, now: both })).toEqual({ text: both, conflicts: 0 });
  });

  it("merges a CRLF file against LF renders and gives it back in CRLF", () => {
    const yours = withEol(before.replace("Run it:", "Run it locally:"), "\r\n");
    const now = before.replace("# srv", "# srv2");
    const merged = mergeText({ before, yours, now });
    expect(merged.conflicts).toBe(0);
    expect(merged.text).toBe(withEol(before.replace("Run it:", "Run it locally:").replace("# srv", "# srv2"), "\r\n"));
    expect(merged.text.replace(/\r\n/g, "")).not.toContain("\n"); // no bare LF left
  });

  it("writes a whole-file conflict with the three versions in order", () => {
    const outcome = wholeFileConflict({ before: "a\n", yours: "b", now: "c\n" });
    expect(outcome).toEqual({ text: "<<<<<<< yours\nb\n||||||| generated before\na\n=======\nc\n>>>>>>> generated now\n", conflicts: 1 });
  });
});

describe("line endings and markers", () => {
  it("tells CRLF from LF files by their majority of line breaks", () => {
    expect(eolOf("a\r\nb\r\nc\n")).toBe("\r\n");
    expect(eolOf("a\nb\r\nc\n")).toBe("\n");
    expect(eolOf("no break")).toBe("\n");
    expect(toLf("a\r\nb\n")).toBe("a\nb\n");
    expect(sameText("a\r\nb\r\n", "a\nb\n")).toBe(true);
  });

  it("finds conflict markers, ours or git's, but not a lone separator line", () => {
    expect(hasConflictMarkers("x\n<<<<<<< yours\na\n=======\nb\n>>>>>>> generated now\n")).toBe(true);
    expect(hasConflictMarkers("<<<<<<< HEAD\r\na\r\n=======\r\nb\r\n>>>>>>> main\r\n")).toBe(true);
    expect(hasConflictMarkers("Title\n=======\n\ntext with <<<<<<<< in it\n")).toBe(false);
  });
});

// The oracle: git's own three-way merge on the same inputs, where git is installed.
const hasGit = spawnSync("git", ["--version"]).status === 0;

describe.skipIf(!hasGit)("mergeText agrees with git merge-file --diff3", () => {
  const dir = mkdtempSync(join(tmpdir(), "cma-merge-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function gitMerge(base: string, yours: string, now: string): { text: string; conflicts: number } {
    writeFileSync(join(dir, "yours"), yours);
    writeFileSync(join(dir, "before"), base);
    writeFileSync(join(dir, "now"), now);
    const args = ["merge-file", "-p", "--diff3", "-L", "yours", "-L", "generated before", "-L", "generated now", "yours", "before", "now"];
    try {
      return { text: execFileSync("git", args, { cwd: dir, encoding: "utf8" }), conflicts: 0 };
    } catch (error) {
      // git exits with the number of conflicts.
      const { stdout, status } = error as { stdout: string; status: number };
      return { text: stdout, conflicts: status };
    }
  }

  const server = lines(
    'import { McpServer } from "@modelcontextprotocol/server";',
    "",
    "export function createServer(identity: AccessIdentity): McpServer {",
    '  const server = new McpServer({ name: "srv", version: "1.0.0" });',
    "",
    '  server.registerTool("whoami", {}, async () => ({ content: [] }));',
    "",
    "  return server;",
    "}",
  );
  const cases: [string, string, string, string][] = [
    ["edits apart", server, server.replace("  return server;", '  server.registerTool("mine", {}, handler);\n\n  return server;'), server.replace('"srv"', '"srv2"')],
    ["same line", server, server.replace('"1.0.0"', '"2.0.0"'), server.replace('"srv"', '"srv2"')],
    ["adjacent lines", server, server.replace("import { McpServer }", "import { McpServer, type Tool }"), server.replace("\nexport function", "// generated\nexport function")],
    ["user deleted a block the generator changed", server, server.replace('  server.registerTool("whoami", {}, async () => ({ content: [] }));\n\n', ""), server.replace("whoami", "who_am_i")],
    ["both appended at the end", before, `${before}mine\n`, `${before}generated\n`],
    ["user rewrote the start, generator the end", before, `intro\n${before.replace("# srv\n", "")}`, before.replace("dev, deploy", "dev, deploy, provision")],
    ["several regions", before, before.replace("Run it:", "Run:").replace("## Scripts", "## Commands"), before.replace("# srv", "# srv2").replace("Set TEAM_DOMAIN.", "Set TEAM_DOMAIN and POLICY_AUD.")],
    ["same change on both sides", before, before.replace("# srv", "# srv2"), before.replace("# srv", "# srv2")],
  ];

  it.each(cases)("%s", (_, base, yours, now) => {
    expect(mergeText({ before: base, yours, now })).toEqual(gitMerge(base, yours, now));
  });
});
