// Echoes what it gets: a POST body comes back byte for byte (bodies of many megabytes, both ways);
// any other request gets its path and query back, so a client can tell responses apart.
export default {
  async fetch(req) {
    if (req.method === "POST") {
      return new Response(await req.arrayBuffer(), { headers: { "content-type": "application/octet-stream" } });
    }
    const url = new URL(req.url);
    return new Response(url.pathname + url.search);
  },
};
