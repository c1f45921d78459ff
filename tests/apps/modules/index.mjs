// A diamond (a and b both import shared) and a cycle (index <-> cycle): each module is evaluated once.
import { fromA } from "./a.mjs";
import { fromB } from "./b.mjs";
import { counter } from "./shared.mjs";
import { ping } from "./cycle.mjs";
export const name = "index";
export default {
  fetch: () => Response.json({ evaluations: counter.evaluations, same: fromA === fromB, cycle: ping() }),
};
