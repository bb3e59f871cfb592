import type { GatewayConfig } from "../../index.js";
import type { ServeOptions } from "../options.js";

/** A config file's default export: the gateway config plus an optional `server` section. */
export type ServerConfigFile = GatewayConfig & { server?: ServeOptions };

/** Splits a loaded file into the gateway's config and the server's options. */
export function splitConfig(loaded: unknown, file: string): { gateway: GatewayConfig; server: ServeOptions } {
  if (typeof loaded !== "object" || loaded === null || Array.isArray(loaded)) {
    throw new Error(`${file}: expected its default export to be a modelgate config object`);
  }
  const { server, ...gateway } = loaded as ServerConfigFile;
  if (server !== undefined && (typeof server !== "object" || server === null)) throw new Error(`${file}: \`server\` must be an object`);
  return { gateway, server: server ?? {} };
}

/** For `GET /v1/models`: the declared models, narrowed to a key's `models` list when it has one. */
export function modelLister(config: GatewayConfig): ((key: string | undefined) => readonly string[]) | undefined {
  const declared = Object.keys(config.models ?? {});
  if (declared.length === 0) return undefined;
  const keys = config.keys ?? {};
  return (key) => {
    const allowed = key !== undefined && Object.hasOwn(keys, key) ? keys[key]?.models : undefined;
    return allowed ?? declared;
  };
}
