// Throws while the module is evaluated.
import { helper } from "./helper.mjs";
helper();
export default { fetch: () => new Response("never") };
