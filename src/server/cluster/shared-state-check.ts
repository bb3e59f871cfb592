import type { GatewayConfig } from "../../index.js";

/**
 * What several server processes started from one config would each keep for themselves.
 * `refusals` break a promise (a budget spent once per worker, one embedded database opened by
 * two processes) and stop the start; `perWorker` only shares less (each worker's own cache
 * warms alone) and is said at start.
 */
export interface SharedStateReport {
  readonly refusals: string[];
  readonly perWorker: string[];
}

export function checkSharedState(config: GatewayConfig, workers: number): SharedStateReport {
  const refusals: string[] = [];
  const perWorker: string[] = [];
  const scope = config.store === undefined ? "process" : config.store.scope;
  const processLocalStore = scope === "process";
  const counted = countedLimits(config);
  if (processLocalStore && counted.length > 0) {
    refusals.push(
      `${counted.join(", ")} would be counted by each of the ${workers} workers on its own memory store ` +
        `(each would admit the whole rpm and spend the whole budget): set \`store: redisStore(...)\` in the config, or run one worker`,
    );
  } else if (scope !== "shared" && counted.length > 0) {
    // A store of one's own that predates `scope` may keep its counts in this process: money is
    // only counted once on a store that says every process sees the same counts.
    refusals.push(
      `${counted.join(", ")} need a store every worker shares, and the config's store does not say it is one: ` +
        `give it \`scope: "shared"\` if every process sees the same counts, else use \`store: redisStore(...)\`, or run one worker`,
    );
  }
  if (config.controlPlane?.kind === "pglite") {
    refusals.push(
      "controlPlane: the embedded database (PGlite) opens in one process only: give postgresControlPlane a `url` of a Postgres server, or run one worker",
    );
  }
  if (config.cache && processLocalStore) perWorker.push("answer cache");
  if (config.spend?.store === undefined && config.controlPlane === undefined) perWorker.push("spend reports");
  if (processLocalStore) perWorker.push("deployment health (cooldowns)");
  // Share and spike anomalies are judged on the traffic a process sees (budget alerts are not).
  perWorker.push("spend anomaly detection (on its share of the traffic)");
  return { refusals, perWorker };
}

/** The config paths that set a limit or budget some store must count. */
function countedLimits(config: GatewayConfig): string[] {
  const paths: string[] = [];
  for (const [name, key] of Object.entries(config.keys ?? {})) {
    if (key.rpm !== undefined || key.tpm !== undefined || key.budget !== undefined) paths.push(`keys.${name}`);
  }
  if (config.users && (config.users.rpm !== undefined || config.users.tpm !== undefined || config.users.budget !== undefined)) paths.push("users");
  for (const [name, route] of Object.entries(config.models ?? {})) {
    if (typeof route === "string") continue;
    if (route.deployments.some((deployment) => typeof deployment === "object" && (deployment.rpm !== undefined || deployment.tpm !== undefined))) {
      paths.push(`models.${name}.deployments`);
    }
  }
  // Runtime keys carry limits and budgets the config cannot show.
  if (config.controlPlane) paths.push("controlPlane (runtime keys)");
  return paths.length > 4 ? [...paths.slice(0, 4), `${paths.length - 4} more`] : paths;
}
