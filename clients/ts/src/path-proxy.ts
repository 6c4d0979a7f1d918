/** Reading this symbol on a path proxy gives its dotted path (`"rooms.join"`). */
export const PATH: unique symbol = Symbol("zocket.path");

/**
 * Builds `client.send`, `client.on`, `client.call` and `client.answer`: a
 * Proxy where every property access extends a dotted path (`rooms`, then
 * `rooms.join`) and calling a path hands it, with the arguments, to
 * `onCall`. Nothing about the router is needed at run time.
 */
export function createPathProxy(onCall: (path: string, args: unknown[]) => unknown): unknown {
  const cache = new Map<string, unknown>();
  const make = (path: string): unknown => {
    const cached = cache.get(path);
    if (cached !== undefined) return cached;
    // An arrow function: callable, and without a `prototype` property that
    // Proxy invariants would pin.
    const target = () => {};
    const proxy = new Proxy(target, {
      get(_target, prop) {
        if (prop === PATH) return path;
        if (typeof prop === "symbol") return undefined;
        // `await client.send` or `JSON.stringify(client.on)` must not look
        // like messages named `then` or `toJSON`.
        if (path === "" && (prop === "then" || prop === "toJSON")) return undefined;
        return make(path === "" ? prop : `${path}.${prop}`);
      },
      apply(_target, _this, args) {
        if (path === "") {
          throw new TypeError("zocket: call a message, e.g. client.send.rooms.join(payload)");
        }
        return onCall(path, args);
      },
      set() {
        return false;
      },
      defineProperty() {
        return false;
      },
      deleteProperty() {
        return false;
      },
    });
    cache.set(path, proxy);
    return proxy;
  };
  return make("");
}
