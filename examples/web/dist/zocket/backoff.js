export const DEFAULT_RECONNECT = {
    initialDelayMs: 1000,
    factor: 1.3,
    maxDelayMs: 10000,
    jitter: 0.2,
};
/** Fills in defaults and checks ranges; throws `RangeError` on nonsense. */
export function resolveReconnectOptions(options = {}) {
    const resolved = {
        initialDelayMs: options.initialDelayMs ?? DEFAULT_RECONNECT.initialDelayMs,
        factor: options.factor ?? DEFAULT_RECONNECT.factor,
        maxDelayMs: options.maxDelayMs ?? DEFAULT_RECONNECT.maxDelayMs,
        jitter: options.jitter ?? DEFAULT_RECONNECT.jitter,
    };
    const check = (ok, what) => {
        if (!ok)
            throw new RangeError(`zocket reconnect option ${what}`);
    };
    check(Number.isFinite(resolved.initialDelayMs) && resolved.initialDelayMs >= 0, "initialDelayMs must be a finite number >= 0");
    check(Number.isFinite(resolved.factor) && resolved.factor >= 1, "factor must be a finite number >= 1");
    check(Number.isFinite(resolved.maxDelayMs) && resolved.maxDelayMs >= resolved.initialDelayMs, "maxDelayMs must be a finite number >= initialDelayMs");
    check(Number.isFinite(resolved.jitter) && resolved.jitter >= 0 && resolved.jitter <= 1, "jitter must be between 0 and 1");
    return resolved;
}
/**
 * The wait before reconnection attempt number `attempt` (0 for the first
 * attempt after a loss): `initialDelayMs * factor^attempt`, capped at
 * `maxDelayMs`, spread by ±`jitter`, never above `maxDelayMs`.
 * `random` returns a number in [0, 1), like `Math.random`.
 */
export function reconnectDelay(attempt, options, random = Math.random) {
    const base = Math.min(options.maxDelayMs, options.initialDelayMs * Math.pow(options.factor, attempt));
    const spread = base * options.jitter;
    const jittered = base - spread + random() * 2 * spread;
    return Math.round(Math.min(options.maxDelayMs, Math.max(0, jittered)));
}
