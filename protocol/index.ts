export * from './results.ts';
export * from './api.ts';
