import { describe, expect, it } from "vitest";
import { withEol } from "../../src/apply/line-endings.js";
import { mergeJson } from "../../src/apply/merge-json.js";

const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;

const pkgBefore = {
  name: "srv",
  private: true,
  scripts: { dev: "node dev/access-emulator.mjs", deploy: "wrangler deploy" },
  dependencies: { "@modelcontextprotocol/server": "^2.4.0", zod: "^4.6.7" },
  devDependencies: { wrangler: "^4.164.0" },
};

describe("mergeJson: package.json", () => {
  it("keeps the user's dependencies and scripts and adds the generator's new one, in order", () => {
    // The user ran `npm install lodash` (npm sorts) and added a script; the new render adds jose and renames the project.
    const yours = json({
      ...pkgBefore,
      scripts: { ...pkgBefore.scripts, lint: "biome check" },
      dependencies: { "@modelcontextprotocol/server": "^2.4.0", lodash: "^4.17.21", zod: "^4.6.7" },
    });
    const now = json({ ...pkgBefore, name: "srv2", dependencies: { "@modelcontextprotocol/server": "^2.4.0", jose: "^6.2.17", zod: "^4.6.7" } });
    const merged = mergeJson({ before: json(pkgBefore), yours, now });
    expect(merged.conflicts).toBe(0);
    expect(merged.text).toBe(
      json({
        ...pkgBefore,
        name: "srv2",
        scripts: { ...pkgBefore.scripts, lint: "biome check" },
        dependencies: { "@modelcontextprotocol/server": "^2.4.0", jose: "^6.2.17", lodash: "^4.17.21", zod: "^4.6.7" },
      }),
    );
  });

  it("merges edits on neighbouring lines that a line merge would call a conflict", () => {
    // Both add a key after the last dependency: both touch the line of "zod" (its comma).
    const yours = json({ ...pkgBefore, dependencies: { ...pkgBefore.dependencies, zzz: "1.0.0" } });
    const now = json({ ...pkgBefore, dependencies: { ...pkgBefore.dependencies, zz: "2.0.0" } });
    const merged = mergeJson({ before: json(pkgBefore), yours, now });
    expect(merged.conflicts).toBe(0);
    expect(JSON.parse(merged.text).dependencies).toEqual({ ...pkgBefore.dependencies, zz: "2.0.0", zzz: "1.0.0" });
  });

  it("removes what the generator dropped unless the user changed it", () => {
    const now = json({ ...pkgBefore, devDependencies: {} });
    expect(JSON.parse(mergeJson({ before: json(pkgBefore), yours: json({ ...pkgBefore, version: "1.0.0" }), now }).text).devDependencies).toEqual({});
    const pinned = json({ ...pkgBefore, devDependencies: { wrangler: "4.170.0" } });
    expect(mergeJson({ before: json(pkgBefore), yours: pinned, now }).conflicts).toBe(1);
  });

  it("falls back to the line merge, with markers, when both changed the same key", () => {
    const yours = json({ ...pkgBefore, dependencies: { ...pkgBefore.dependencies, zod: "^3.0.0" } });
    const now = json({ ...pkgBefore, dependencies: { ...pkgBefore.dependencies, zod: "^4.7.0" } });
    const merged = mergeJson({ before: json(pkgBefore), yours, now });
    expect(merged.conflicts).toBe(1);
    expect(merged.text).toContain('<<<<<<< yours\n    "zod": "^3.0.0"\n||||||| generated before\n    "zod": "^4.6.7"\n=======\n    "zod": "^4.7.0"\n>>>>>>> generated now');
  });

  it("reads keys named like Object.prototype's members (toString, constructor, __proto__) as plain keys", () => {
    // A custom template may name a script so; a key added or dropped must not be taken for the prototype's.
    const before = json({ ...pkgBefore, scripts: { ...pkgBefore.scripts, toString: "a" } });
    const yours = json({ ...pkgBefore, scripts: { ...pkgBefore.scripts, toString: "a" }, version: "1.0.0" });
    const now = `${JSON.stringify({ ...pkgBefore, scripts: { ...pkgBefore.scripts, constructor: "b" } }, null, 2).replace('"dev"', '"__proto__": "c",\n    "dev"')}\n`;
    const merged = mergeJson({ before, yours, now });
    expect(merged.conflicts).toBe(0);
    const scripts = JSON.parse(merged.text).scripts;
    expect(Object.hasOwn(scripts, "toString")).toBe(false);
    expect(Object.hasOwn(scripts, "__proto__")).toBe(true);
    expect(scripts).toMatchObject({ constructor: "b", dev: pkgBefore.scripts.dev });
    expect(JSON.parse(merged.text).version).toBe("1.0.0");
  });

  it("keeps the user's indentation and CRLF line endings", () => {
    const yours = withEol(`${JSON.stringify({ ...pkgBefore, version: "1.0.0" }, null, "\t")}\n`, "\r\n");
    const now = json({ ...pkgBefore, dependencies: { ...pkgBefore.dependencies, jose: "^6.2.17" } });
    const merged = mergeJson({ before: json(pkgBefore), yours, now });
    const dependencies = { "@modelcontextprotocol/server": "^2.4.0", jose: "^6.2.17", zod: "^4.6.7" };
    expect(merged.text).toBe(withEol(`${JSON.stringify({ ...pkgBefore, version: "1.0.0", dependencies }, null, "\t")}\n`, "\r\n"));
  });

  it("merges a file the user left unparsable as text", () => {
    const yours = json(pkgBefore).replace('"private": true,', '"private": true,,');
    const now = json({ ...pkgBefore, devDependencies: { wrangler: "^4.170.0" } });
    const merged = mergeJson({ before: json(pkgBefore), yours, now });
    expect(merged).toEqual({ text: yours.replace("^4.164.0", "^4.170.0"), conflicts: 0 });
  });
});

const wranglerBefore = `{
  "$schema": "node_modules/wrangler/config-schema.json",
  "name": "srv",
  "main": "src/index.ts",
  "vars": {
    // The Access team domain, exactly as it appears in the tokens' \`iss\`.
    "TEAM_DOMAIN": "https://acme.cloudflareaccess.com",
    "POLICY_AUD": "<your-access-app-aud>"
  },
  "observability": {
    "enabled": true
  }
}
`;

describe("mergeJson: wrangler.jsonc", () => {
  it("keeps the user's comments, bindings and formatting while the generator changes vars", () => {
    const yours = wranglerBefore
      .replace('"main": "src/index.ts",', '"main": "src/index.ts",\n  // KV for my cache\n  "kv_namespaces": [{ "binding": "CACHE", "id": "abc" }],')
      .replace('"POLICY_AUD": "<your-access-app-aud>"', '"POLICY_AUD": "0123abcd" // from the dashboard');
    const now = wranglerBefore.replace("acme", "beta").replace('"name": "srv"', '"name": "srv2"');
    const merged = mergeJson({ before: wranglerBefore, yours, now });
    expect(merged).toEqual({ text: yours.replace("acme", "beta").replace('"name": "srv"', '"name": "srv2"'), conflicts: 0 });
  });

  it("adds a new object in the generator's place, formatted like the file", () => {
    const yours = wranglerBefore.replace('"name": "srv"', '"name": "mine"');
    const now = wranglerBefore.replace('  "observability"', '  "kv_namespaces": [{ "binding": "OAUTH_KV", "id": "x" }],\n  "observability"');
    const merged = mergeJson({ before: wranglerBefore, yours, now });
    expect(merged.conflicts).toBe(0);
    expect(merged.text).toContain('"name": "mine"');
    expect(merged.text).toMatch(/"POLICY_AUD": "<your-access-app-aud>"\n {2}\},\n {2}"kv_namespaces": \[\n {4}\{\n {6}"binding": "OAUTH_KV",/);
  });

  it("gives one whole-file conflict when a clean line merge would break the file", () => {
    // Both add the same key, in different places: the line merge is clean, and has the key twice.
    const yours = wranglerBefore.replace('"main": "src/index.ts",', '"main": "src/index.ts",\n  "kv_namespaces": [{ "binding": "CACHE", "id": "abc" }],');
    const now = wranglerBefore.replace('  "observability"', '  "kv_namespaces": [{ "binding": "OAUTH_KV", "id": "x" }],\n  "observability"');
    const merged = mergeJson({ before: wranglerBefore, yours, now });
    expect(merged.conflicts).toBe(1);
    expect(merged.text.startsWith("<<<<<<< yours\n")).toBe(true);
    expect(merged.text.endsWith(">>>>>>> generated now\n")).toBe(true);
  });
});
