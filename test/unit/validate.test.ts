import { describe, expect, it } from "vitest";
import { parseConfigObject } from "../../src/answers/config-file.js";
import * as check from "../../src/config/validate.js";
import { UsageError } from "../../src/errors.js";

const rejects = (validator: (value: unknown) => unknown, value: unknown, message: RegExp) =>
  expect(() => validator(value)).toThrow(message);

describe("worker names", () => {
  it.each(["a", "my-server", "x1", "a".repeat(63)])("accepts %s", (name) => {
    expect(check.workerName(name)).toBe(name);
  });
  it.each([
    ["My-Server", /"my-server"/],
    ["-lead", /not starting or ending with a dash/],
    ["trail-", /"trail"/],
    ["a".repeat(64), /1–63/],
    ["has space", /"has-space"/],
    ["", /not a valid Worker name/],
  ])("rejects %j and suggests a fix", (name, message) => rejects(check.workerName, name, message));

  it.each([
    ["My Server!", "my-server"],
    ["__weird__name__", "weird-name"],
    ["Ünïcode Dir", "unicode-dir"],
    ["a".repeat(80), "a".repeat(63)],
  ])("normalises the directory name %j to %j", (dir, name) => {
    expect(check.normaliseWorkerName(dir)).toBe(name);
  });
  it("gives up on a directory name with nothing usable", () => {
    expect(check.normaliseWorkerName("日本語")).toBeUndefined();
  });
});

describe("team", () => {
  it.each([
    ["acme", "https://acme.cloudflareaccess.com"],
    ["ACME", "https://acme.cloudflareaccess.com"],
    ["https://acme.cloudflareaccess.com", "https://acme.cloudflareaccess.com"],
    ["https://acme-corp.cloudflareaccess.com/", "https://acme-corp.cloudflareaccess.com"],
  ])("%s → %s", (input, url) => expect(check.team(input)).toBe(url));
  it.each([
    "http://acme.cloudflareaccess.com",
    "https://acme.example.com",
    "acme.cloudflareaccess.com",
    "https://acme.cloudflareaccess.com/path",
    "https://evil.com/.cloudflareaccess.com",
    "ac me",
    "",
  ])("rejects %j", (input) => rejects(check.team, input, /is not an Access team/));
});

describe("emails and domains", () => {
  it("accepts and lower-cases the domain of an email", () => {
    expect(check.email("Ada@Example.COM")).toBe("Ada@example.com");
  });
  it("trims surrounding white space", () => expect(check.email(" ada@example.com\n")).toBe("ada@example.com"));
  it.each(["ada", "@example.com", "ada@localhost", "ada@@example.com", "a b@example.com", 'x"@example.com', "a\nb@example.com"])(
    "rejects the email %j",
    (value) => rejects(check.email, value, /is not an email address/),
  );
  it("accepts a domain with or without @", () => {
    expect(check.emailDomains(["@Example.com", "corp.example.org"])).toEqual(["example.com", "corp.example.org"]);
  });
  it.each(["example", "https://example.com", "exa mple.com", "1.2.3.4", "-bad.com"])("rejects the domain %j", (value) =>
    rejects(check.emailDomain, value, /is not an email domain/),
  );
  it("rejects duplicates", () => {
    rejects(check.emails, ["a@example.com", "A@example.com"], /given twice/);
  });
});

describe("custom domain (--domain)", () => {
  it.each([
    ["mcp.example.com", "mcp.example.com"],
    ["MCP.Example.COM", "mcp.example.com"],
    // White space around it (a pasted answer) is not part of it; inside it, it is refused below.
    [" mcp.example.com\n", "mcp.example.com"],
    ["example.com", "example.com"],
    ["a-b.c-d.example.co.uk", "a-b.c-d.example.co.uk"],
    ["xn--bcher-kva.example", "xn--bcher-kva.example"],
  ])("accepts %j as %j", (input, host) => expect(check.customDomain(input)).toBe(host));

  it.each([
    ["https://mcp.example.com", /is a URL, not a hostname/],
    ["http://mcp.example.com/", /is a URL, not a hostname/],
    ["//mcp.example.com", /is a URL, not a hostname/],
    ["mcp.example.com/mcp", /a path/],
    ["mcp.example.com:8443", /a port/],
    ["ada@mcp.example.com", /user name/],
    ["mcp.example.com?x=1", /query/],
    ["mcp.example.com#top", /query/],
    ["*.example.com", /wildcard/],
    ["mcp*.example.com", /wildcard/],
    ["192.0.2.1", /IP address/],
    ["[2001:db8::1]", /IP address/],
    ["2001:db8::1", /IP address/],
    ["localhost", /single label/],
    ["mcp", /single label/],
    ["srv.acme.workers.dev", /workers\.dev/],
    ["workers.dev", /workers\.dev/],
    ["x.WORKERS.DEV", /workers\.dev/],
    ["acme.cloudflareaccess.com", /cloudflareaccess\.com/],
    ["mcp.example.com.", /trailing dot/],
    ["mcp..example.com", /not a hostname/],
    ["mcp .example.com", /not a hostname/],
    ["mcp.example.com\nevil.example.com", /not a hostname/],
    ["-mcp.example.com", /not a hostname/],
    ["mcp_1.example.com", /not a hostname/],
    ["bücher.example", /punycode/],
    [`${"a".repeat(64)}.example.com`, /not a hostname/],
    ["", /not a hostname/],
    [42, /expected a string/],
  ])("refuses %j, naming the value and the fix", (input, message) => {
    expect(() => check.customDomain(input)).toThrow(message);
    if (typeof input === "string" && input.trim()) expect(() => check.customDomain(input)).toThrow(/like "mcp\.example\.com"|workers\.dev URL|team domain/);
  });

  it("from the flag and from mcp-access.json alike, through validateAnswers: exit 2 naming where it came from", () => {
    const answers = { name: "srv", auth: "self-hosted" };
    expect(check.validateAnswers({ ...answers, domain: "MCP.example.com" }).domain).toBe("mcp.example.com");
    expect(() => check.validateAnswers({ ...answers, domain: "https://mcp.example.com/mcp" })).toThrow(UsageError);
    try {
      check.validateAnswers({ ...answers, domain: "srv.acme.workers.dev" }, { domain: '"domain" in ./mcp-access.json' });
    } catch (error) {
      expect((error as UsageError).details).toEqual([expect.stringMatching(/^"domain" in \.\/mcp-access\.json: "srv\.acme\.workers\.dev" is a workers\.dev/)]);
    }
  });
});

describe("a refused value in a message", () => {
  it("shows its invisible characters escaped: a pasted value cannot clear, recolour or reorder the terminal", () => {
    let message = "";
    try {
      check.emailDomain("ex\u001b[2Jample\u009b\u202e.com");
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('"ex\\u001b[2Jample\\u009b\\u202e.com"');
    expect(message).not.toMatch(/[\u001b\u009b\u202e]/);
  });
});

describe("identity providers", () => {
  it("accepts types (any case) and UUIDs", () => {
    expect(check.idps(["github", "AZUREAD", "0f8c6b6e-3c1a-4c55-9b8e-6a1f1e2d3c4b"])).toEqual([
      "github",
      "azureAD",
      "0f8c6b6e-3c1a-4c55-9b8e-6a1f1e2d3c4b",
    ]);
  });
  it("rejects other values and lists the types", () => rejects(check.idp, "facebook", /onetimepin, github/));
});

describe("downstream apps", () => {
  it("parses name=url and drops a trailing slash", () => {
    expect(check.downstream("wiki=https://wiki.example.com/api/")).toEqual({ name: "wiki", url: "https://wiki.example.com/api" });
  });
  it("accepts http on loopback only", () => {
    expect(check.downstream("local=http://127.0.0.1:9000").url).toBe("http://127.0.0.1:9000");
    expect(check.downstream("local=http://localhost:9000/x").url).toBe("http://localhost:9000/x");
    rejects(check.downstream, "wiki=http://wiki.example.com", /must use https:\/\//);
  });
  it.each([
    ["wiki", /name=url/],
    ["Wiki=https://wiki.example.com", /must start with a lowercase letter/],
    ["call-me=https://wiki.example.com", /must start with a lowercase letter/],
    ["wiki=ftp://wiki.example.com", /must use https/],
    ["wiki=https://user:pw@wiki.example.com", /user name or password/],
    ["wiki=https://wiki.example.com/?q=1", /query or fragment/],
    ["wiki=not a url", /is not a URL/],
    ["wiki=https://{{evil}}.com", /is not a URL|is not a hostname/],
  ])("rejects %j", (value, message) => rejects(check.downstream, value, message));
  it("accepts an Access application name on one line", () => {
    expect(check.downstream({ name: "a", url: "https://a.example.com", accessApp: " Wiki (prod) " })).toEqual({
      name: "a",
      url: "https://a.example.com",
      accessApp: "Wiki (prod)",
    });
    rejects(check.downstream, { name: "a", url: "https://a.example.com", accessApp: "two\nlines" }, /not an Access application name/);
    rejects(check.downstream, { name: "a", url: "https://a.example.com", accessApp: "" }, /not an Access application name/);
  });
  it("rejects two apps with the same name", () => {
    rejects(check.downstreams, ["a=https://a.example.com", "a=https://b.example.com"], /"a" is given twice/);
  });
  it("accepts the config file's object form and rejects unknown keys", () => {
    expect(check.downstream({ name: "a", url: "https://a.example.com" })).toEqual({ name: "a", url: "https://a.example.com" });
    rejects(check.downstream, { name: "a", url: "https://a.example.com", token: "x" }, /unknown key "token"/);
  });
});

describe("enums and lists", () => {
  it("lists the valid values of an enum", () => {
    rejects(check.authMode, "oauth", /"oauth" is not one of: self-hosted, saas/);
    rejects(check.language, "py", /not one of: ts, js/);
  });
  it("parses features, in a stable order", () => {
    expect(check.features("lint, tests")).toEqual(["tests", "lint"]);
    expect(check.features("none")).toEqual([]);
    expect(check.features(["ci"])).toEqual(["ci"]);
    rejects(check.features, "tests,none", /cannot be combined/);
    rejects(check.features, "docker", /"docker" is not one of: tests, ci, lint, examples/);
  });
  it("checks account ids", () => {
    expect(check.accountId("0123456789ABCDEF0123456789abcdef")).toBe("0123456789abcdef0123456789abcdef");
    rejects(check.accountId, "123", /32 hexadecimal/);
  });
});

describe("validateAnswers", () => {
  it("builds a Config with defaults for what is optional", () => {
    expect(check.validateAnswers({ name: "srv", auth: "self-hosted" })).toEqual({
      name: "srv",
      auth: "self-hosted",
      access: { emails: [], domains: [], idps: [] },
      downstreams: [],
      tools: {},
      audit: { arguments: "names" },
      lang: "ts",
      features: ["tests"],
    });
  });
  it("reports every problem at once, each naming where the value came from", () => {
    let error: UsageError | undefined;
    try {
      check.validateAnswers({ name: "Bad Name", auth: "nope", team: "x.y" }, { team: '"team" in cfg.json' });
    } catch (caught) {
      error = caught as UsageError;
    }
    expect(error).toBeInstanceOf(UsageError);
    expect(error!.message).toMatch(/3 problems/);
    expect(error!.details).toEqual([
      expect.stringMatching(/^--name: "Bad Name"/),
      expect.stringMatching(/^--auth: "nope"/),
      expect.stringMatching(/^"team" in cfg.json: "x.y"/),
    ]);
  });
  it("rejects values of the wrong type from a config file", () => {
    expect(() => check.validateAnswers({ name: "srv", auth: "saas", emails: "a@example.com" })).toThrow(UsageError);
  });
  it("shows control characters in values instead of printing them", () => {
    expect(() => check.workerName("evil\u001b[31m")).toThrow(/"evil\\u001b\[31m"/);
  });
});

describe("what provisioning recorded", () => {
  const ids = {
    workersSubdomain: "acme",
    allowPolicyId: "11111111-2222-3333-4444-555555555555",
    accessApp: { id: "aaaaaaaa-2222-3333-4444-555555555555", aud: "f".repeat(64) },
    kvNamespaceId: "d".repeat(32),
    downstreams: { wiki: { appId: "b1", policyId: "c1" } },
    adopted: ["e".repeat(32), "srv"],
  };
  it("accepts the ids provisioning writes", () => {
    expect(check.provisioned(ids)).toEqual(ids);
    expect(check.validateAnswers({ name: "srv", auth: "saas", provisioned: ids }).provisioned).toEqual(ids);
  });
  it.each([
    [{ ...ids, extra: 1 }, /unknown key "extra" in provisioned/],
    [{ accessApp: { id: 'x", "evil": "' } }, /provisioned.accessApp.id .* is not a Cloudflare id/],
    [{ accessApp: { aud: "f" } }, /provisioned.accessApp.id "undefined" is not a Cloudflare id/],
    [{ kvNamespaceId: "" }, /provisioned.kvNamespaceId "" is not a Cloudflare id/],
    [{ workersSubdomain: "Not A Label" }, /not a workers.dev subdomain/],
    [{ downstreams: { "Bad Name": { appId: "a", policyId: "b" } } }, /downstream name "Bad Name"/],
    [{ downstreams: { wiki: { appId: "a" } } }, /provisioned.downstreams.wiki.policyId/],
    [[], /provisioned must be an object/],
    [{ adopted: "srv" }, /provisioned.adopted must be a list/],
    [{ adopted: ["a b"] }, /provisioned.adopted\[0\] "a b" is not a Cloudflare id/],
    [{ adopted: ["a", "a"] }, /"a" is given twice/],
  ])("rejects %j, naming the key", (value, message) => rejects(check.provisioned, value, message));
});

describe("keys are matched as own keys, never through Object.prototype", () => {
  const problemsOf = (text: string) => {
    try {
      parseConfigObject(JSON.parse(text), "mcp-access.json");
    } catch (error) {
      expect(error).toBeInstanceOf(UsageError);
      return (error as UsageError).details.join("\n");
    }
    return "accepted";
  };
  it.each([
    ['{"access":{"constructor":[]}}', '"access.constructor" in mcp-access.json: unknown key'],
    ['{"access":{"toString":[]}}', '"access.toString" in mcp-access.json: unknown key'],
    // JSON.parse makes "__proto__" an own key: it must be refused like any other unknown one.
    ['{"access":{"__proto__":["a@example.com"]}}', '"access.__proto__" in mcp-access.json: unknown key'],
    ['{"toString":1}', '"toString" in mcp-access.json: unknown key'],
    ['{"constructor":{}}', '"constructor" in mcp-access.json: unknown key'],
    ['{"__proto__":{"name":"srv","auth":"saas"}}', '"__proto__" in mcp-access.json: unknown key'],
  ])("%s: exit 2, naming the key", (text, problem) => expect(problemsOf(text)).toContain(problem));

  it("reads only the file's own values: nothing comes from a prototype", () => {
    const { answers } = parseConfigObject(JSON.parse('{"name":"srv","auth":"saas"}'), "mcp-access.json");
    expect(Object.keys(answers).sort()).toEqual(["auth", "name"]);
  });

  it.each([
    [{ downstreams: JSON.parse('{"__proto__": {"appId": "a", "policyId": "b"}}') }, /downstream name "__proto__"/],
    [{ accessApp: JSON.parse('{"id": "a", "__proto__": {}}') }, /unknown key "__proto__" in provisioned.accessApp/],
  ])("provisioned %j: refused, naming the key", (value, message) => {
    expect(() => check.provisioned(value)).toThrow(message);
  });

  it("a downstream named constructor is a valid name, kept as an own key", () => {
    expect(check.downstream("constructor=https://c.example.com")).toEqual({ name: "constructor", url: "https://c.example.com" });
    expect(() => check.downstream("__proto__=https://c.example.com")).toThrow(/downstream name "__proto__"/);
    const recorded = check.provisioned({ downstreams: { constructor: { appId: "a", policyId: "b" } } });
    expect(Object.hasOwn(recorded.downstreams!, "constructor")).toBe(true);
  });
});
