export function helper() {
  throw new Error("database url is not configured");
}
