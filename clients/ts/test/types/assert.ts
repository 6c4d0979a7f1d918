// Type-level assertions for the type tests.

export type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;

/** Compiles only when `T` is `true`. */
export function expectTrue<T extends true>(): T | void {}
