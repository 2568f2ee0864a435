import { sql } from "drizzle-orm";
import type { Services } from "../context";
import type { MessageType } from "../domain/providers";
import {
  parseTemplate,
  pickVariant,
  renderTemplate,
  type TemplateProblem,
  worstCaseSegments,
} from "../domain/templates";
import { ApiError } from "../errors";
import { newId } from "../lib/ids";

/** A tenant's templates (CRUD) and their rendering for POST /v1/messages. */

export interface TemplateInput {
  name: string;
  body: string;
  localeVariants?: Record<string, string> | undefined;
  type: MessageType;
  maxSegments?: number | undefined;
  variableLengths?: Record<string, number> | undefined;
  dltTemplateId?: string | undefined;
}

interface TemplateRow extends Record<string, unknown> {
  id: string;
  name: string;
  body: string;
  locale_variants: Record<string, string> | null;
  type: MessageType;
  max_segments: number | null;
  variable_lengths: Record<string, number> | null;
  dlt_template_id: string | null;
  created_at: Date | string;
  updated_at: Date | string;
}

const view = (row: TemplateRow) => ({
  id: row.id,
  name: row.name,
  body: row.body,
  locale_variants: row.locale_variants ?? {},
  type: row.type,
  max_segments: row.max_segments,
  variables: row.variable_lengths ?? {},
  dlt_template_id: row.dlt_template_id,
  created_at: new Date(row.created_at).toISOString(),
  updated_at: new Date(row.updated_at).toISOString(),
});

const columns = sql`id, name, body, locale_variants, type, max_segments, variable_lengths,
  dlt_template_id, created_at, updated_at`;

/** Syntax of every variant, and where max_segments is set, its worst case. */
function validate(input: TemplateInput): void {
  const bodies: [string, string][] = [
    ["body", input.body],
    ...Object.entries(input.localeVariants ?? {}).map(([locale, body]): [string, string] => [
      `locale_variants.${locale}`,
      body,
    ]),
  ];
  const problems: TemplateProblem[] = [];
  for (const [path, body] of bodies) {
    const parsed = parseTemplate(body);
    if (!parsed.ok) {
      problems.push({ path, message: parsed.problem });
      continue;
    }
    if (input.maxSegments === undefined) continue;
    const worst = worstCaseSegments(body, input.variableLengths ?? {});
    if (worst > input.maxSegments) {
      problems.push({
        path,
        message: `may need ${worst} segments with the declared variable lengths (max_segments ${input.maxSegments})`,
      });
    }
  }
  if (problems.length > 0) {
    throw new ApiError("validation_failed", "The template is not valid", problems);
  }
}

const jsonb = (value: unknown) =>
  sql`${value === undefined || value === null ? null : JSON.stringify(value)}::jsonb`;

export async function createTemplate(s: Services, tenantId: string, input: TemplateInput) {
  validate(input);
  const now = s.now();
  const result = await s.db.execute<TemplateRow>(sql`
    insert into templates (id, tenant_id, name, body, locale_variants, type, max_segments,
      variable_lengths, dlt_template_id, created_at, updated_at)
    values (${newId("tpl", now.getTime())}, ${tenantId}, ${input.name}, ${input.body},
      ${jsonb(input.localeVariants)}, ${input.type}, ${input.maxSegments ?? null},
      ${jsonb(input.variableLengths)}, ${input.dltTemplateId ?? null}, ${now}, ${now})
    on conflict (tenant_id, name) do nothing
    returning ${columns}`);
  const row = result.rows[0];
  if (!row) {
    throw new ApiError("validation_failed", `A template named "${input.name}" exists`, [
      { path: "name", message: "already used" },
    ]);
  }
  return view(row);
}

export async function replaceTemplate(
  s: Services,
  tenantId: string,
  id: string,
  input: TemplateInput,
) {
  validate(input);
  const result = await s.db.execute<TemplateRow>(sql`
    update templates set name = ${input.name}, body = ${input.body},
      locale_variants = ${jsonb(input.localeVariants)}, type = ${input.type},
      max_segments = ${input.maxSegments ?? null}, variable_lengths = ${jsonb(input.variableLengths)},
      dlt_template_id = ${input.dltTemplateId ?? null}, updated_at = ${s.now()}
    where id = ${id} and tenant_id = ${tenantId}
    returning ${columns}`);
  const row = result.rows[0];
  if (!row) throw new ApiError("not_found", `No template ${id}`);
  return view(row);
}

export async function listTemplates(s: Services, tenantId: string) {
  const result = await s.db.execute<TemplateRow>(
    sql`select ${columns} from templates where tenant_id = ${tenantId} order by name`,
  );
  return result.rows.map(view);
}

async function findTemplate(s: Services, tenantId: string, idOrName: string) {
  const result = await s.db.execute<TemplateRow>(sql`
    select ${columns} from templates
    where tenant_id = ${tenantId} and (id = ${idOrName} or name = ${idOrName}) limit 1`);
  return result.rows[0];
}

export async function getTemplate(s: Services, tenantId: string, id: string) {
  const row = await findTemplate(s, tenantId, id);
  if (!row) throw new ApiError("not_found", `No template ${id}`);
  return view(row);
}

export async function deleteTemplate(s: Services, tenantId: string, id: string) {
  const result = await s.db.execute(
    sql`delete from templates where id = ${id} and tenant_id = ${tenantId}`,
  );
  if (result.rowCount === 0) throw new ApiError("not_found", `No template ${id}`);
}

/**
 * A template for sending (one query): `render` fills the variables into the locale's body.
 * The result then goes through every policy like any body.
 */
export async function templateForSend(
  s: Services,
  tenantId: string,
  template: string,
  locale: string | undefined,
) {
  const row = await findTemplate(s, tenantId, template);
  if (!row) {
    throw new ApiError("validation_failed", `No template "${template}"`, [
      { path: "template", message: "unknown template" },
    ]);
  }
  const body = pickVariant(row.body, row.locale_variants, locale);
  return {
    /** The body with these variables, or the problems: missing and unused variables. */
    render: (variables: Record<string, string>) => renderTemplate(body, variables),
    type: row.type,
    maxSegments: row.max_segments ?? undefined,
    dltTemplateId: row.dlt_template_id,
  };
}

/** A single send by template: the rendered body, or 422 naming the variables. */
export async function renderForSend(
  s: Services,
  tenantId: string,
  request: { template: string; variables: Record<string, string>; locale?: string | undefined },
) {
  const { render, ...template } = await templateForSend(
    s,
    tenantId,
    request.template,
    request.locale,
  );
  const rendered = render(request.variables);
  if (!rendered.ok) {
    throw new ApiError(
      "validation_failed",
      "The variables do not match the template",
      rendered.problems,
    );
  }
  return { body: rendered.body, ...template };
}

/** The lower of the request's and the template's segment limits (either may be absent). */
export const segmentLimit = (requested: number | undefined, template: number | undefined) =>
  requested === undefined
    ? template
    : template === undefined
      ? requested
      : Math.min(requested, template);

/**
 * A send's India DLT ids: the template id the request gives, else its template's; a request
 * with an entity and neither is refused.
 */
export function dltFor(
  dlt: { entityId: string; templateId?: string | undefined } | undefined,
  templateDltId: string | null | undefined,
): { entityId: string; templateId: string } | undefined {
  if (!dlt) return undefined;
  const templateId = dlt.templateId ?? templateDltId;
  if (!templateId) {
    throw new ApiError("validation_failed", "dlt needs a template_id", [
      { path: "dlt.template_id", message: "required (or a template with dlt_template_id)" },
    ]);
  }
  return { entityId: dlt.entityId, templateId };
}
