// Which request the running JS belongs to. The worker enters JS once per event (a request, a
// timer); microtasks queued by that entry run before it returns, so the context set on entry is
// the one their logs and timers belong to.
let current = null;

export function enter(ctx) {
  current = ctx;
}

export function currentContext() {
  return current;
}

export function currentRequestId() {
  return current ? current.requestId : "";
}

export function currentExchangeId() {
  return current ? current.exchangeId : 0;
}
