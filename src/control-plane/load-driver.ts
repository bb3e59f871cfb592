import { ConfigError } from "../core/errors.js";

/**
 * Imports an optional peer dependency, or throws a ConfigError naming the package to install
 * (the drivers are optional: only the one the chosen deployment shape uses is needed).
 */
export async function loadDriver<Module>(name: "pg" | "@electric-sql/pglite", field: string, importer: () => Promise<Module>): Promise<Module> {
  try {
    return await importer();
  } catch (error) {
    const code = (error as { code?: unknown } | undefined)?.code;
    const message = error instanceof Error ? error.message : "";
    // Only the driver itself missing: a broken install of one of its own dependencies is rethrown as is.
    if ((code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND") && message.includes(`'${name}'`)) {
      throw new ConfigError([{ path: field, message: `needs the package '${name}': npm install ${name}` }]);
    }
    throw error;
  }
}
