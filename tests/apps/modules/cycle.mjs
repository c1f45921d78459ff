import * as root from "./index.mjs"; export const ping = () => `pong from ${root.name}`;
