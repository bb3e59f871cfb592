import { echo, echoList } from "../core/echo.js";
import type { Issue } from "../core/errors.js";
import type { RouteTable } from "../core/route.js";

/**
 * Every model a virtual key may use must exist: a declared logical model, or `provider/model`
 * with a configured provider. A typo here would otherwise refuse the tenant at run time with
 * no hint of why.
 */
export function checkKeyModels(
  keys: Readonly<Record<string, { models?: readonly string[] | undefined }>> | undefined,
  table: RouteTable,
  issues: Issue[],
): void {
  if (!keys) return;
  const declared = [...table.routes.keys()];
  for (const [key, config] of Object.entries(keys)) {
    config.models?.forEach((model, index) => {
      if (table.resolve(model)) return;
      issues.push({
        path: `keys.${echo(key, 60)}.models[${index}]`,
        message: `'${echo(model)}' is not a declared model (have: ${echoList(declared) || "none"}) nor 'provider/model' with a configured provider`,
      });
    });
  }
}
