// State resolution (content/server-server-api.md "Room State Resolution"): v1, v2 and v2.1.
export { EventGraph, StateKeys, type EventLookup, type StateNodes } from './graph.js';
export { StateResolver, resolveState, resolveStateEntries, stateMapKey } from './resolve.js';
export type { ResolveOptions, StateSetInput } from './resolve.js';
export { newStats, authRulesCheck, type ResolveStats, type StateAuthCheck } from './context.js';
export type { GraphKernels, KernelSession, Partition, ConflictedSets } from './kernels.js';
export { wasmKernels } from './kernels-wasm.js';
export { referenceKernels } from './reference/kernels.js';
