import { HttpError, type IncomingCall } from "./call.js";

/** Reads the body as one JSON object; anything else is a 400 before the gateway is asked. */
export async function readJsonObject(call: IncomingCall): Promise<Record<string, unknown>> {
  const text = await call.readBody();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new HttpError(400, "request_invalid", "The request body is not valid JSON: expected a JSON object");
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new HttpError(400, "request_invalid", "The request body must be a JSON object");
  }
  return parsed as Record<string, unknown>;
}
