import { describe, expect, it } from "vitest";
import {
  parseTemplate,
  pickVariant,
  renderTemplate,
  worstCaseSegments,
} from "../../src/domain/templates";

describe("templates", () => {
  it("finds the variables, and refuses stray braces", () => {
    expect(parseTemplate("Hi {{first_name}}, order {{ order_id }} ({{first_name}})")).toEqual({
      ok: true,
      variables: ["first_name", "order_id"],
    });
    expect(parseTemplate("Hi {{first name}}")).toMatchObject({ ok: false });
    expect(parseTemplate("Hi {{name")).toMatchObject({ ok: false });
    expect(parseTemplate("Hi name}}")).toMatchObject({ ok: false });
  });

  it("renders with every variable, and names the missing and the extra ones", () => {
    expect(renderTemplate("Hi {{name}}, {{code}}", { name: "Ada", code: "42" })).toEqual({
      ok: true,
      body: "Hi Ada, 42",
    });
    expect(renderTemplate("Hi {{name}}, {{code}}", { name: "Ada", extra: "x" })).toEqual({
      ok: false,
      problems: [
        { path: "variables.code", message: "missing" },
        { path: "variables.extra", message: "not used by the template" },
      ],
    });
    // A value that looks like a placeholder is inserted as it is, not rendered again.
    expect(renderTemplate("{{a}}", { a: "{{b}}" })).toEqual({ ok: true, body: "{{b}}" });
  });

  it("falls back from the exact locale to its language, then to the default body", () => {
    const variants = { "pt-BR": "Olá (BR)", pt: "Olá", fr: "Bonjour" };
    expect(pickVariant("Hello", variants, "pt-BR")).toBe("Olá (BR)");
    expect(pickVariant("Hello", variants, "pt-PT")).toBe("Olá");
    expect(pickVariant("Hello", variants, "FR")).toBe("Bonjour");
    expect(pickVariant("Hello", variants, "de")).toBe("Hello");
    expect(pickVariant("Hello", null, "fr")).toBe("Hello");
  });

  it("counts the worst case: declared lengths filled with characters that force UCS-2", () => {
    const body = `Hi {{name}}, ${"x".repeat(40)}`;
    expect(worstCaseSegments(body, {})).toBe(1);
    expect(worstCaseSegments(body, { name: 20 })).toBe(1); // 64 UCS-2 units
    expect(worstCaseSegments(body, { name: 30 })).toBe(2); // 74 > 70
  });
});
