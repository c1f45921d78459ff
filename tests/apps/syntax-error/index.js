// Deliberately broken: the worker must report a SyntaxError and the supervisor must stay up.
Router.get("/", () => new Response("never")
const oops = ;
