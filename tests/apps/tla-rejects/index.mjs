// Its top-level await rejects, so the app never finishes loading.
await Promise.reject(new Error("config service unreachable"));
export default { fetch: () => new Response("never") };
