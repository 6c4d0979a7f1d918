// Waiting on events, with timeouts, instead of sleeping.

export type Subscribe<T> = (listener: (value: T) => void) => () => void;

/**
 * Resolves with the next value `subscribe` delivers that satisfies `accept`;
 * rejects after `timeoutMs`. Subscribes at once: call it before triggering
 * the event.
 */
export function nextEvent<T>(
  subscribe: Subscribe<T>,
  what: string,
  accept: (value: T) => boolean = () => true,
  timeoutMs = 3000,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let unsubscribe: () => void = () => {};
    const timer = setTimeout(() => {
      unsubscribe();
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
    }, timeoutMs);
    unsubscribe = subscribe((value) => {
      if (!accept(value)) return;
      clearTimeout(timer);
      unsubscribe();
      resolve(value);
    });
  });
}

/** Collects every value `subscribe` delivers, for later assertions. */
export function record<T>(subscribe: Subscribe<T>): { values: T[]; stop: () => void } {
  const values: T[] = [];
  const stop = subscribe((value) => {
    values.push(value);
  });
  return { values, stop };
}

/**
 * Resolves or rejects as `promise` does, but rejects after `timeoutMs` if
 * it has not settled by then.
 */
export function within<T>(promise: Promise<T>, what: string, timeoutMs = 3000): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

/** The rejection of `promise`, which must reject within `timeoutMs`. */
export function rejection(promise: Promise<unknown>, what: string, timeoutMs = 3000): Promise<unknown> {
  return new Promise<unknown>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} did not reject within ${timeoutMs} ms`)), timeoutMs);
    promise.then(
      () => {
        clearTimeout(timer);
        reject(new Error(`${what} resolved; expected a rejection`));
      },
      (error: unknown) => {
        clearTimeout(timer);
        resolve(error);
      },
    );
  });
}

/** The part of a client `reopened` watches. */
export interface Reopenable {
  readonly readyState: number;
  onOpen: Subscribe<void>;
  onClose: Subscribe<unknown>;
}

/**
 * Resolves when the client's next connection opens. `onOpen` alone would
 * not do while the client is open: a listener added then runs for the
 * connection already open. Subscribes at once: call it before dropping
 * the connection.
 */
export function reopened(client: Reopenable, timeoutMs = 3000): Promise<void> {
  // 1 is ReadyState.OPEN; not imported, so this file stays client-free.
  let closedSince = client.readyState !== 1;
  const stop = client.onClose(() => {
    closedSince = true;
  });
  const next = nextEvent<void>(client.onOpen, "the next connection's onOpen", () => closedSince, timeoutMs);
  return next.finally(stop);
}
