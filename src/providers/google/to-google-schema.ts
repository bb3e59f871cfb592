import type { Issue } from "../../core/errors.js";

/** A schema in Gemini's OpenAPI 3.0 subset, as JSON. */
export type GoogleSchema = { [key: string]: unknown };

const TYPES = new Set(["string", "number", "integer", "boolean", "array", "object"]);

/** Formats the Gemini API accepts per type; it rejects the rest (`email`, `uri`, ...) with a 400. */
const FORMATS: Readonly<Record<string, readonly string[]>> = {
  string: ["enum", "date-time"],
  number: ["float", "double"],
  integer: ["int32", "int64"],
};

/** Keywords copied unchanged: they mean the same in JSON Schema and in Gemini's subset. */
const COPIED = new Set([
  "description",
  "title",
  "required",
  "minItems",
  "maxItems",
  "minimum",
  "maximum",
  "minLength",
  "maxLength",
  "pattern",
  "minProperties",
  "maxProperties",
  "default",
  "example",
  "propertyOrdering",
]);

/**
 * Keywords removed: Gemini rejects them, and none constrains what a conforming value looks like
 * beyond what Gemini already does (it only generates declared properties, so a boolean
 * `additionalProperties` has nothing left to say; `strict` is OpenAI's own switch).
 */
const STRIPPED = new Set(["$schema", "$id", "$comment", "strict"]);

const SUPPORTED_LIST =
  "type (one type, optionally with 'null'), nullable, enum and const (strings), format, properties, required, " +
  "items, anyOf, min/maxItems, minimum, maximum, min/maxLength, pattern, min/maxProperties, description, title, default, example";

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isNullSchema(value: unknown): boolean {
  return isRecord(value) && value.type === "null" && Object.keys(value).length === 1;
}

/**
 * Converts a JSON Schema (as OpenAI takes for `response_format.json_schema.schema` and tool
 * `parameters`) to Gemini's OpenAPI 3.0 subset. Gemini parses schemas as protobuf JSON, so an
 * unknown keyword is a 400; this names the path up front instead.
 *
 * The subset: `type` (one of string, number, integer, boolean, array, object; a list of one
 * type plus `"null"` becomes `nullable: true`), `nullable`, `enum` of strings (`null` in it
 * becomes `nullable`), `const` string (becomes a one-value `enum`), `format` (string: enum,
 * date-time; number: float, double; integer: int32, int64), `properties`, `required`, `items`
 * (one schema, no tuples), `anyOf` (a `{ type: "null" }` member becomes `nullable`), `minItems`,
 * `maxItems`, `minimum`, `maximum`, `minLength`, `maxLength`, `pattern`, `minProperties`,
 * `maxProperties`, `description`, `title`, `default`, `example`, `propertyOrdering`.
 * Removed: `$schema`, `$id`, `$comment`, `strict`, and `additionalProperties` when boolean.
 * Anything else (`$ref`/`$defs`, `oneOf`, `allOf`, `not`, `if`, tuples, numeric enums,
 * `additionalProperties` as a schema, `exclusiveMinimum`, ...) is an issue at its path.
 */
export function toGoogleSchema(schema: unknown, path: string, issues: Issue[]): GoogleSchema {
  if (!isRecord(schema)) {
    issues.push({ path, message: "expected a schema object (Google Gemini takes no boolean schemas)" });
    return {};
  }
  const result: GoogleSchema = {};
  let nullable = false;
  for (const [key, value] of Object.entries(schema)) {
    const at = `${path}.${key}`;
    if (STRIPPED.has(key)) continue;
    if (COPIED.has(key)) {
      result[key] = value;
      continue;
    }
    switch (key) {
      case "type":
        nullable = convertType(value, at, result, issues) || nullable;
        break;
      case "nullable":
        if (value === true) nullable = true;
        break;
      case "enum":
        nullable = convertEnum(value, at, result, issues) || nullable;
        break;
      case "const":
        if (typeof value === "string") result.enum = [value];
        else issues.push({ path: at, message: "Google Gemini takes only string constants" });
        break;
      case "format":
        result.format = value;
        break;
      case "properties":
        if (isRecord(value)) {
          result.properties = Object.fromEntries(
            Object.entries(value).map(([name, property]) => [name, toGoogleSchema(property, `${at}.${name}`, issues)]),
          );
        } else issues.push({ path: at, message: "expected an object of schemas" });
        break;
      case "items":
        if (Array.isArray(value)) issues.push({ path: at, message: "Google Gemini does not support tuple `items`" });
        else result.items = toGoogleSchema(value, at, issues);
        break;
      case "anyOf":
        nullable = convertAnyOf(value, at, result, issues) || nullable;
        break;
      case "additionalProperties":
        if (typeof value !== "boolean") {
          issues.push({ path: at, message: "Google Gemini does not support `additionalProperties` as a schema (maps)" });
        }
        break;
      default:
        issues.push({ path: at, message: `'${key}' is not supported by Google Gemini schemas (supported: ${SUPPORTED_LIST})` });
    }
  }
  if (nullable) result.nullable = true;
  if (result.enum !== undefined && result.type === undefined) result.type = "string";
  checkFormat(result, path, issues);
  return result;
}

/** Sets `result.type`; returns whether the type list allowed null. */
function convertType(value: unknown, path: string, result: GoogleSchema, issues: Issue[]): boolean {
  const types = Array.isArray(value) ? value : [value];
  const nonNull = types.filter((type) => type !== "null");
  if (nonNull.length !== 1 || typeof nonNull[0] !== "string" || !TYPES.has(nonNull[0])) {
    issues.push({
      path,
      message: `expected one of ${[...TYPES].join(", ")}, optionally with "null" (Google Gemini takes one type per schema; use anyOf)`,
    });
    return false;
  }
  result.type = nonNull[0];
  return nonNull.length !== types.length;
}

function convertEnum(value: unknown, path: string, result: GoogleSchema, issues: Issue[]): boolean {
  if (!Array.isArray(value)) {
    issues.push({ path, message: "expected an array" });
    return false;
  }
  const values = value.filter((item) => item !== null);
  if (!values.every((item) => typeof item === "string")) {
    issues.push({ path, message: "Google Gemini takes only string enum values" });
    return false;
  }
  result.enum = values;
  return values.length !== value.length;
}

function convertAnyOf(value: unknown, path: string, result: GoogleSchema, issues: Issue[]): boolean {
  if (!Array.isArray(value)) {
    issues.push({ path, message: "expected an array of schemas" });
    return false;
  }
  const members = value.filter((member) => !isNullSchema(member));
  const converted = value.flatMap((member, index) =>
    isNullSchema(member) ? [] : [toGoogleSchema(member, `${path}[${index}]`, issues)],
  );
  if (converted.length === 1 && converted[0] !== undefined) Object.assign(result, converted[0]);
  else result.anyOf = converted;
  return members.length !== value.length;
}

function checkFormat(result: GoogleSchema, path: string, issues: Issue[]): void {
  if (result.format === undefined) return;
  const allowed = typeof result.type === "string" && Object.hasOwn(FORMATS, result.type) ? FORMATS[result.type] : undefined;
  if (typeof result.format !== "string" || !allowed?.includes(result.format)) {
    const supported = Object.entries(FORMATS)
      .map(([type, formats]) => `${type}: ${formats.join(", ")}`)
      .join("; ");
    issues.push({ path: `${path}.format`, message: `format not supported by Google Gemini (supported: ${supported})` });
  }
}
