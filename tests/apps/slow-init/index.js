// Spends longer than the init budget evaluating its module.
const end = Date.now() + 60_000;
while (Date.now() < end) {}
Router.get("/", () => new Response("never"));
