// URL and URLSearchParams: the WHATWG reference implementation, bundled at build time.
export { URL, URLSearchParams } from "whatwg-url";
