import { counter } from "./shared.mjs"; export const fromA = counter;
