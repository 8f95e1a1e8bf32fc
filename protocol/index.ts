export * from './results.ts';
export * from './api.ts';
export * from './throughput.ts';
export * from './evidence.ts';
