/** The instrumentation scope modelgate's default tracer and meter are named after. */
export const INSTRUMENTATION_NAME = "modelgate";
/** Kept equal to package.json's version (a test checks it), without importing JSON at run time. */
export const INSTRUMENTATION_VERSION = "0.1.0";
