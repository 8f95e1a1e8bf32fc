/**
 * Node flags the installed agent runs with: the one-file build's shebang and every service definition that
 * calls node explicitly (Windows). An idle agent allocates little, so a 1 MB young generation keeps it a few
 * MB smaller on a Raspberry Pi without costing measurable CPU.
 */
export const AGENT_NODE_FLAGS = ['--max-semi-space-size=1'];
