import { analyzeBody } from "./encoding";

/**
 * Message templates: bodies with `{{variable}}` placeholders, optional per-locale variants.
 * Pure: parsing, rendering and the worst-case segment count used when a template is saved.
 */

const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_]{0,63})\s*\}\}/g;

export type TemplateProblem = { path: string; message: string };

/** The variables a body uses, or what is wrong with its syntax (stray braces). */
export function parseTemplate(
  body: string,
): { ok: true; variables: string[] } | { ok: false; problem: string } {
  const variables = new Set<string>();
  const rest = body.replace(PLACEHOLDER, (_match, name: string) => {
    variables.add(name);
    return "";
  });
  if (rest.includes("{{") || rest.includes("}}")) {
    return { ok: false, problem: "a {{ or }} that is not a placeholder such as {{first_name}}" };
  }
  return { ok: true, variables: [...variables] };
}

/** The body for a locale: exact (`pt-BR`), then its language (`pt`), then the default. */
export function pickVariant(
  body: string,
  variants: Readonly<Record<string, string>> | null | undefined,
  locale: string | undefined,
): string {
  if (!locale || !variants) return body;
  const exact = Object.entries(variants).find(([l]) => l.toLowerCase() === locale.toLowerCase());
  if (exact) return exact[1];
  const language = locale.toLowerCase().split(/[-_]/)[0];
  return Object.entries(variants).find(([l]) => l.toLowerCase() === language)?.[1] ?? body;
}

/** Fills the placeholders; every variable used must be given, and nothing else. */
export function renderTemplate(
  body: string,
  variables: Readonly<Record<string, string>>,
): { ok: true; body: string } | { ok: false; problems: TemplateProblem[] } {
  const parsed = parseTemplate(body);
  if (!parsed.ok) return { ok: false, problems: [{ path: "template", message: parsed.problem }] };
  const problems: TemplateProblem[] = [
    ...parsed.variables
      .filter((name) => !(name in variables))
      .map((name) => ({ path: `variables.${name}`, message: "missing" })),
    ...Object.keys(variables)
      .filter((name) => !parsed.variables.includes(name))
      .map((name) => ({ path: `variables.${name}`, message: "not used by the template" })),
  ];
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, body: body.replace(PLACEHOLDER, (_m, name: string) => variables[name] ?? "") };
}

/**
 * The most segments a body can take once filled, given each variable's declared maximum
 * length: every variable filled with that many characters outside GSM-7 (which forces UCS-2,
 * the costlier encoding). A variable without a declared length is counted as empty.
 */
export function worstCaseSegments(
  body: string,
  maxLengths: Readonly<Record<string, number>>,
): number {
  const filled = body.replace(PLACEHOLDER, (_m, name: string) => "Ж".repeat(maxLengths[name] ?? 0));
  return analyzeBody(filled).segments;
}
