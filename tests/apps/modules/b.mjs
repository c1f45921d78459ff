import { counter } from "./shared.mjs"; export const fromB = counter;
