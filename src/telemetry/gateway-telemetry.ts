import { metrics, trace, type Attributes, type Tracer } from "@opentelemetry/api";
import type { Deployment } from "../core/route.js";
import type { GatewayEvents } from "../core/events.js";
import { GatewayMetrics } from "./gateway-metrics.js";
import { INSTRUMENTATION_NAME, INSTRUMENTATION_VERSION } from "./instrumentation-scope.js";
import {
  GEN_AI_OPERATION_NAME,
  GEN_AI_REQUEST_MODEL,
  GEN_AI_RESPONSE_MODEL,
  GEN_AI_TOKEN_TYPE,
  MODELGATE_COOLDOWN_REASON,
  MODELGATE_DEPLOYMENT,
  SERVER_ADDRESS,
  semconvMode,
  type SemconvMode,
} from "./semconv.js";
import type { TelemetryConfig } from "./telemetry-config.js";

/** What every attempt at one deployment shares on its span and metrics: built once. */
export interface DeploymentTelemetry {
  /** `chat {model}` */
  readonly spanName: string;
  /** Set at span start, where a sampler sees them. */
  readonly spanAttributes: Attributes;
  /** Operation, provider, model and server of the `gen_ai.client.*` metrics. */
  readonly metricAttributes: Attributes;
  /** Metric attributes of a served attempt, per response model (usually one or two). */
  readonly served: Map<string, ServedAttributes>;
}

/** Attribute sets of a served attempt's metrics, built once per response model. */
export interface ServedAttributes {
  readonly operation: Attributes;
  readonly inputTokens: Attributes;
  readonly outputTokens: Attributes;
}

/**
 * Response models remembered per deployment. Providers answer with a dated snapshot name or
 * two per requested model; past this bound attributes are built per call instead of cached.
 */
const MAX_RESPONSE_MODELS = 16;

/** The operation every span and metric here describes (`gen_ai.operation.name`). */
export const OPERATION = "chat";
/** `gen_ai.operation.name` of a `gateway.embed()` call's span. */
export const EMBEDDINGS_OPERATION = "embeddings";

/**
 * One gateway's telemetry: tracer, instruments, the conventions version to emit, whether to
 * capture content. Created at `createGateway`; holds nothing that outlives the gateway.
 */
export class GatewayTelemetry {
  readonly tracer: Tracer;
  readonly metrics: GatewayMetrics;
  readonly mode: SemconvMode;
  readonly captureContent: boolean;
  /** Keyed by the deployment object, so routes built and dropped at run time take theirs along. */
  private readonly deployments = new WeakMap<Deployment, DeploymentTelemetry>();
  /** The same, for embeddings attempts: their spans and metrics name another operation. */
  private readonly embeddingDeployments = new WeakMap<Deployment, DeploymentTelemetry>();

  /**
   * @param semconvOptIn `OTEL_SEMCONV_STABILITY_OPT_IN`, which (listing `gen_ai_latest_experimental`)
   *   overrides `config.semconv: "v1.36"`.
   */
  constructor(config: TelemetryConfig | undefined, semconvOptIn: string | undefined) {
    this.tracer = config?.tracer ?? trace.getTracer(INSTRUMENTATION_NAME, INSTRUMENTATION_VERSION);
    this.metrics = new GatewayMetrics(config?.meter ?? metrics.getMeter(INSTRUMENTATION_NAME, INSTRUMENTATION_VERSION));
    this.mode = semconvMode(semconvOptIn, config?.semconv);
    this.captureContent = config?.captureContent ?? false;
  }

  deployment(deployment: Deployment, operation: typeof OPERATION | typeof EMBEDDINGS_OPERATION = OPERATION): DeploymentTelemetry {
    const cache = operation === OPERATION ? this.deployments : this.embeddingDeployments;
    let facts = cache.get(deployment);
    if (!facts) {
      const metricAttributes: Attributes = {
        [GEN_AI_OPERATION_NAME]: operation,
        [this.mode.providerAttribute]: deployment.adapter.name,
        [GEN_AI_REQUEST_MODEL]: deployment.model,
      };
      if (deployment.adapter.serverAddress) metricAttributes[SERVER_ADDRESS] = deployment.adapter.serverAddress;
      facts = {
        spanName: `${operation} ${deployment.model}`,
        spanAttributes: Object.freeze({ ...metricAttributes, [MODELGATE_DEPLOYMENT]: deployment.id }),
        metricAttributes: Object.freeze(metricAttributes),
        served: new Map(),
      };
      cache.set(deployment, facts);
    }
    return facts;
  }

  /** The metric attributes of an attempt `facts` served with `responseModel`; cached, not rebuilt per call. */
  servedAttributes(facts: DeploymentTelemetry, responseModel: string): ServedAttributes {
    let served = facts.served.get(responseModel);
    if (!served) {
      const operation = { ...facts.metricAttributes, [GEN_AI_RESPONSE_MODEL]: responseModel };
      served = {
        operation,
        inputTokens: { ...operation, [GEN_AI_TOKEN_TYPE]: "input" },
        outputTokens: { ...operation, [GEN_AI_TOKEN_TYPE]: "output" },
      };
      if (facts.served.size < MAX_RESPONSE_MODELS) facts.served.set(responseModel, served);
    }
    return served;
  }

  /** Counts cooldowns, which belong to a deployment rather than to one call. */
  subscribe(events: GatewayEvents): () => void {
    return events.on("cooldown", (event) => {
      this.metrics.cooldown({ [MODELGATE_DEPLOYMENT]: event.deployment, [MODELGATE_COOLDOWN_REASON]: event.reason });
    });
  }
}
