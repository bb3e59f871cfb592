#!/usr/bin/env node
/**
 * `modelgate serve`: loads a config (or the environment's API keys), serves the gateway, and
 * on SIGTERM/SIGINT drains in-flight calls and streams (bounded) before exiting 0, so a
 * rolling deploy loses no answer. A second signal exits at once.
 */
import { createGateway, GatewayError, type GatewayConfig } from "../../index.js";
import { serve } from "../serve.js";
import type { ServeOptions } from "../options.js";
import { HELP, parseServeArgs, type ServeArgs } from "./args.js";
import { providersFromEnvironment } from "./env-config.js";
import { loadConfigFile } from "./load-config.js";
import { resolveProviderSpecs } from "./provider-specs.js";
import { modelLister, splitConfig } from "./server-config.js";

const say = (line: string): void => void process.stderr.write(`modelgate: ${line}\n`);

async function main(argv: readonly string[]): Promise<number> {
  let args: ServeArgs;
  try {
    args = parseServeArgs(argv);
  } catch (error) {
    say(`${error instanceof Error ? error.message : String(error)}\n\n${HELP}`);
    return 2;
  }
  if (args.command === "help") {
    process.stdout.write(HELP);
    return 0;
  }

  let gatewayConfig: GatewayConfig;
  let serverOptions: ServeOptions;
  if (args.config) {
    const split = splitConfig(await loadConfigFile(args.config), args.config);
    gatewayConfig = { ...split.gateway, providers: await resolveProviderSpecs(split.gateway.providers, process.env) };
    serverOptions = split.server;
  } else {
    const { providers, names } = await providersFromEnvironment(process.env);
    if (names.length === 0) {
      say("no --config and no provider API key in the environment (OPENAI_API_KEY, ANTHROPIC_API_KEY, GEMINI_API_KEY, GOOGLE_API_KEY)");
      return 2;
    }
    say(`no --config: serving ${names.map((name) => `${name}/<model>`).join(", ")} from the environment's API keys`);
    gatewayConfig = { providers };
    serverOptions = {};
  }
  const options: ServeOptions = {
    models: modelLister(gatewayConfig),
    store: gatewayConfig.store,
    adminToken: process.env.MODELGATE_ADMIN_TOKEN || undefined,
    ...serverOptions,
  };
  if (args.port !== undefined) options.port = args.port;
  if (args.host !== undefined) options.host = args.host;
  if (args.allowUnauthenticated) options.allowUnauthenticated = true;
  if (args.drainTimeoutMs !== undefined) options.drainTimeoutMs = args.drainTimeoutMs;

  const gateway = createGateway(gatewayConfig);
  const server = await serve(gateway, options).catch(async (error: unknown) => {
    await gateway.close();
    throw error;
  });
  const authNote =
    options.auth === undefined && gateway.keys.available
      ? "bearer-token auth on (the control plane's runtime keys)"
      : options.auth === undefined
      ? options.allowUnauthenticated
        ? "no auth (allowUnauthenticated): every caller is anonymous"
        : "no auth configured: bound to loopback only, every caller anonymous"
      : "bearer-token auth on";
  say(`listening on ${server.url} (OpenAI base URL ${server.url}/v1); ${authNote}`);

  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals): void => {
      if (stopping) {
        say(`${signal} again: exiting without waiting`);
        resolve(1);
        return;
      }
      stopping = true;
      say(`${signal}: draining ${server.handler.inFlight} call(s) in flight, then exiting`);
      void server
        .close()
        .then(() => gateway.close())
        .then(
          () => resolve(0),
          (error: unknown) => {
            say(`error while closing: ${error instanceof Error ? error.message : String(error)}`);
            resolve(1);
          },
        );
    };
    process.on("SIGTERM", stop);
    process.on("SIGINT", stop);
  });
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    // A ConfigError lists every bad path; anything else says what failed in one line, no stack.
    const message = error instanceof GatewayError ? error.message : error instanceof Error ? error.message.split("\n")[0] : String(error);
    say(message ?? "failed");
    process.exit(1);
  },
);
