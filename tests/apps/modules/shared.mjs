export const counter = (globalThis.__evaluations = (globalThis.__evaluations ?? 0) + 1, { evaluations: globalThis.__evaluations });
