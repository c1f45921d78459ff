// The host operations the worker installs as globals before this bundle runs. They are captured
// here once and removed from the global object, so app code can reach them only through the
// APIs built on top of them.
const names = [
  "eventBody", "eventBodyText", "respond", "respondText", "log", "timerSet", "timerClear", "randomFill",
  "packageList", "packageRead", "appReady", "fetchStart", "digest", "utf8Encode", "utf8Decode",
];

export const host = {};
for (const name of names) {
  const key = "__bb_" + name;
  const fn = globalThis[key];
  if (typeof fn !== "function") throw new Error(`runtime: host operation ${key} is missing`);
  host[name] = fn;
  delete globalThis[key];
}
