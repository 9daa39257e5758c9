import { describe, expect, it } from "vitest";
import { tidy } from "../../src/render/tidy.js";

describe("tidy", () => {
  it("removes what template conditionals leave behind", () => {
    expect(tidy("\n\nconst a = 1;   \n\n\n\nconst b = 2;\r\n\n\n")).toBe("const a = 1;\n\nconst b = 2;\n");
  });
  it("leaves tidy text alone", () => {
    expect(tidy("a\n\nb\n")).toBe("a\n\nb\n");
  });
});
