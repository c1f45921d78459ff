// Loads fine, then its worker dies on every request that asks for /die (a tight crash loop).
Router.get("/", () => new Response("up"));
Router.get("/die", () => {
  const hoard = [];
  for (;;) hoard.push(new Array(100000).fill(1));
});
