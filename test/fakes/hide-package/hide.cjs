// Preloaded into a child process: makes the packages in HIDE_PACKAGES unresolvable, for
// `require` (CommonJS) and `import` (ESM, through a resolve hook), as if never installed.
const Module = require("node:module");
const hidden = (process.env.HIDE_PACKAGES ?? "").split(",").filter(Boolean);
const isHidden = (request) => hidden.some((name) => request === name || request.startsWith(`${name}/`));
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  if (isHidden(request)) {
    const error = new Error(`Cannot find module '${request}'`);
    error.code = "MODULE_NOT_FOUND";
    throw error;
  }
  return resolve.call(this, request, ...rest);
};
Module.register(
  "data:text/javascript," +
    encodeURIComponent(`
      const hidden = ${JSON.stringify(hidden)};
      export async function resolve(specifier, context, next) {
        if (hidden.some((name) => specifier === name || specifier.startsWith(name + "/"))) {
          const error = new Error("Cannot find package '" + specifier + "'");
          error.code = "ERR_MODULE_NOT_FOUND";
          throw error;
        }
        return next(specifier, context);
      }`),
);
