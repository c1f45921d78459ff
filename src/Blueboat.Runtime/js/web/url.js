// URL and URLSearchParams: the WHATWG reference implementation, bundled at build time.
import { URL } from "whatwg-url";

export { URL, URLSearchParams } from "whatwg-url";

// An http(s) URL already in the form the URL parser would serialise it to: lowercase scheme and
// host (letters, digits, hyphens; no punycode, no IPv4-looking last label; or an IPv4 address in
// dotted decimal without leading zeros, as the parser writes one), no default port, a path and
// query of characters the parser keeps as they are, no dot segments, no fragment.
const OCTET = "(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])";
const CANONICAL = new RegExp("^(https?):\\/\\/((?:[a-z0-9-]+\\.)*[a-z-][a-z0-9-]*|" + OCTET + "(?:\\." + OCTET + "){3})(?::([1-9][0-9]{0,4}))?(\\/(?:[A-Za-z0-9\\-._~!$&'()*+,;=:@/]|%[0-9A-Fa-f]{2})*)(\\?(?:[A-Za-z0-9\\-._~!$&()*+,;=:@/?]|%[0-9A-Fa-f]{2})*)?$");
const DOT_SEGMENT = /\/(?:\.|%2e){1,2}(?:\/|\?|$)/i;

/**
 * The href `new URL(input)` would produce. The reference parser costs tens of microseconds, and
 * every incoming request's URL goes through here; URLs that are provably canonical skip it.
 */
export function serializeUrl(input) {
  const s = String(input);
  const m = CANONICAL.exec(s);
  if (m !== null && !DOT_SEGMENT.test(m[4]) && !m[2].startsWith("xn--") && !m[2].includes(".xn--")) {
    const port = m[3];
    const defaultPort = m[1] === "https" ? "443" : "80";
    if (port === undefined || (port !== defaultPort && Number(port) <= 65535)) return s;
  }
  return new URL(s).href;
}

/** The pathname `new URL(href).pathname` would give, without the reference parser for canonical URLs. */
export function pathnameOf(href) {
  const m = CANONICAL.exec(href);
  if (m !== null && !DOT_SEGMENT.test(m[4]) && !m[2].startsWith("xn--") && !m[2].includes(".xn--")) return m[4];
  return new URL(href).pathname;
}
