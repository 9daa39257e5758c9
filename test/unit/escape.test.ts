import { describe, expect, it } from "vitest";
import { jsonLiteral, markdownCode, markdownText, scriptJsonLiteral } from "../../src/render/escape.js";

const hostile = ['a"b', "back\\slash", "{{name}}", "new\nline", "</script><script>alert(1)</script>", "\u2028\u2029", "${x}`", "it's"];

describe("jsonLiteral", () => {
  it.each(hostile)("%j is valid JSON and JavaScript that means the same string", (value) => {
    const literal = jsonLiteral(value);
    expect(JSON.parse(literal)).toBe(value);
    expect(new Function(`return ${literal};`)()).toBe(value);
    expect(literal).not.toMatch(/[\n\u2028\u2029]/);
  });
  it.each(hostile)("%j stays inert inside an HTML script element", (value) => {
    const literal = scriptJsonLiteral(value);
    expect(JSON.parse(literal)).toBe(value);
    expect(new Function(`return ${literal};`)()).toBe(value);
    expect(literal).not.toMatch(/[\n<>&\u2028\u2029]/);
  });
  it("escapes nested values", () => {
    const value = { list: ["</script>", 'q"'] };
    expect(JSON.parse(jsonLiteral(value))).toEqual(value);
  });
});

describe("markdown", () => {
  it("keeps text on one line with markup characters escaped", () => {
    expect(markdownText("a\n# b [x](y) `c`")).toBe("a \\# b \\[x\\]\\(y\\) \\`c\\`");
  });
  it("cannot break out of a code span", () => {
    expect(markdownCode("a`b\nc")).toBe("a b c");
  });
});
