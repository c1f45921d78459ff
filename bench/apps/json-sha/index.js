// Parses a JSON body, serialises it again and answers with the SHA-256 of the result (hex).
// The same file runs on blueboat-edge and on workerd.
export default {
  async fetch(request) {
    const value = await request.json();
    const text = JSON.stringify(value);
    const hash = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
    const hex = Array.from(new Uint8Array(hash), (b) => b.toString(16).padStart(2, "0")).join("");
    return new Response(hex, { headers: { "content-type": "text/plain" } });
  },
};
