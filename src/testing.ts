export { mockProvider } from "./testing/mock-provider.js";
export type { MockProvider, MockProviderOptions, MockFailure, MockReply } from "./testing/mock-provider.js";
