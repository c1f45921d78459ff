// Finishes loading only after a top-level await on a timer and a dynamic import.
await new Promise((resolve) => setTimeout(resolve, 300));
const { word } = await import("./lib.mjs");
export default { fetch: () => new Response(`ready ${word}`) };
