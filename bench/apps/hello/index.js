// Hello world as a module worker: the same file runs on blueboat-edge and on workerd.
export default {
  fetch() {
    return new Response("hello world");
  },
};
