// Per-principal rate limits (issue 12, "limits at the edge"): a token bucket per verified
// token's `sub`, kept in Redis so that every gateway replica (and every --fork worker) draws
// from the same bucket. Each operation that reaches execution takes one token (a
// subscription takes one when it starts); with none left it is refused before anything runs:
// HTTP 429, `Retry-After` (whole seconds, at least 1) and a GraphQL error RATE_LIMITED (over
// WebSocket, the error alone).
//
// Two buckets per principal, `<LIAISON_REDIS_PREFIX>:ratelimit:operations:<sub>` and
// `...:ratelimit:events:<sub>` (shared/redis_keys.py lists them): an operation whose root
// fields are all `events` (the partners' event feed, as a query or a subscription) draws from
// the second, with its own, higher limit. Keyed on what the operation asks for rather than
// on a role claim, which tokens are losing; an operation that adds anything else to `events`
// is an ordinary one.
//
// Leases: a busy principal's tokens are taken from Redis a few at a time and spent locally,
// so most of its operations cost no round trip (it was a tenth of the gateway's time on a
// busy page, and abroad it is a cross-region round trip). A lease lives LEASE_MS; its size
// starts at one token, doubles each time a lease is spent before it expires and halves when
// one expires unspent, up to a tenth of the burst (at most MAX_LEASE). Tokens a lease did not
// spend go back to the bucket with the principal's next take. Every operation still spends a
// token taken from the shared bucket, so no number of replicas lets anyone past the limit;
// what a lease changes is only which replica holds a principal's next few tokens for up to
// LEASE_MS.
//
// Redis is not needed to serve: while it cannot be reached (or answers slower than
// COMMAND_TIMEOUT_MS) operations go through unlimited, with one warning per outage in the
// log and one line when it is back.

import { GraphQLError, Kind, type DocumentNode, type SelectionSetNode } from 'graphql';
import { Redis, type RedisOptions } from 'ioredis';

export type Limit = { perMinute: number; burst: number };

type Log = { warn: (message: string) => void; info: (message: string) => void };

// A request waits at most this long for Redis before it goes through unlimited.
const COMMAND_TIMEOUT_MS = 250;

// A lease is spent before it expires so often that a principal's next one is this old.
const LEASE_MS = 1000;
// The largest lease, in tokens (and never more than a tenth of the burst).
const MAX_LEASE = 50;
// Leases of this many principals at most are kept; the oldest go first.
const MAX_LEASES = 100_000;

// KEYS[1]: the bucket. ARGV[1]: its capacity (the burst), ARGV[2]: tokens added per ms,
// ARGV[3]: how many to take at most, ARGV[4]: unspent tokens given back first.
// Redis' own clock, so that replicas with skewed clocks refill a bucket alike. The bucket
// expires once it would be full again: an idle principal leaves nothing in Redis.
// Returns {taken, 0} when at least one token was taken, else {0, ms until the next one}.
const TAKE_TOKENS = `
local capacity = tonumber(ARGV[1])
local per_ms = tonumber(ARGV[2])
local wanted = tonumber(ARGV[3])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or capacity
local at = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - at) * per_ms + tonumber(ARGV[4]))
local taken, wait = 0, 0
if tokens >= 1 then
  taken = math.min(wanted, math.floor(tokens))
  tokens = tokens - taken
else
  wait = math.ceil((1 - tokens) / per_ms)
end
redis.call('HSET', KEYS[1], 'tokens', tokens, 'at', now)
redis.call('PEXPIRE', KEYS[1], math.ceil((capacity - tokens) / per_ms) + 1000)
return {taken, wait}
`;

type Bucket = 'operations' | 'events';

// The tokens one replica holds for one bucket of one principal.
type Lease = { tokens: number; expiresAt: number; size: number; pending?: Promise<number> };

// Leases by bucket key, least recently used first (a Map keeps insertion order).
class Leases {
  private readonly byKey = new Map<string, Lease>();

  of(key: string): Lease {
    let lease = this.byKey.get(key);
    if (lease) {
      this.byKey.delete(key); // to the end: used just now
    } else {
      lease = { tokens: 0, expiresAt: 0, size: 1 };
      if (this.byKey.size >= MAX_LEASES) this.byKey.delete(this.byKey.keys().next().value!);
    }
    this.byKey.set(key, lease);
    return lease;
  }
}

// The root field names of the operation that runs, through fragments.
function rootFields(document: DocumentNode, operationName?: string | null): Set<string> {
  const fragments = new Map<string, SelectionSetNode>();
  let root: SelectionSetNode | undefined;
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition.selectionSet);
    if (definition.kind === Kind.OPERATION_DEFINITION && !root && (!operationName || definition.name?.value === operationName)) {
      root = definition.selectionSet;
    }
  }
  const names = new Set<string>();
  const spread = new Set<string>(); // each fragment once: the names are a set
  const visit = (selectionSet: SelectionSetNode | undefined) => {
    for (const selection of selectionSet?.selections ?? []) {
      if (selection.kind === Kind.FIELD) names.add(selection.name.value);
      else if (selection.kind === Kind.INLINE_FRAGMENT) visit(selection.selectionSet);
      else if (!spread.has(selection.name.value)) {
        spread.add(selection.name.value);
        visit(fragments.get(selection.name.value));
      }
    }
  };
  visit(root);
  return names;
}

function bucketOf(document: DocumentNode, operationName?: string | null): Bucket {
  const names = rootFields(document, operationName);
  names.delete('__typename');
  return names.size > 0 && [...names].every((name) => name === 'events') ? 'events' : 'operations';
}

function refusal(waitMs: number): { errors: GraphQLError[] } {
  const retryAfter = Math.max(1, Math.ceil(waitMs / 1000));
  const message = `Too many requests from this caller: try again in ${retryAfter} s.`;
  return {
    errors: [
      new GraphQLError(message, {
        extensions: {
          code: 'RATE_LIMITED',
          retryAfter,
          http: { status: 429, headers: { 'retry-after': String(retryAfter) } },
        },
      }),
    ],
  };
}

// Fail open, and say so once per outage rather than once per request.
function outageLog(log: Log) {
  let down = false;
  return {
    down(error: Error) {
      if (down) return;
      down = true;
      log.warn(`rate limits off: Redis is not answering (${error.message}); operations go through unlimited until it is back`);
    },
    up() {
      if (!down) return;
      down = false;
      log.info('rate limits on again: Redis is answering');
    },
  };
}

// Where Redis is, read from the same variables as the Python processes (shared/settings.py):
// the server of LIAISON_REDIS_URL or, with LIAISON_REDIS_SENTINELS (host:port,...), the master
// the sentinels know as LIAISON_REDIS_SENTINEL_MASTER; the URL then gives only the
// credentials, the database and TLS, for the sentinels too.
export type RedisTarget = { url: string; sentinel?: RedisOptions };

export function redisTarget(env: Record<string, string | undefined>): RedisTarget | undefined {
  const url = env.LIAISON_REDIS_URL;
  if (!url) return undefined;
  const sentinels = (env.LIAISON_REDIS_SENTINELS || '').split(',').map((s) => s.trim()).filter(Boolean);
  if (sentinels.length === 0) return { url };
  const parsed = new URL(url);
  const tls = parsed.protocol === 'rediss:';
  const username = decodeURIComponent(parsed.username) || undefined;
  const password = decodeURIComponent(parsed.password) || undefined;
  return {
    url,
    sentinel: {
      sentinels: sentinels.map(sentinelAddress),
      name: (env.LIAISON_REDIS_SENTINEL_MASTER || 'mymaster').trim(),
      db: Number(parsed.pathname.slice(1) || 0),
      username,
      password,
      sentinelUsername: username,
      sentinelPassword: password,
      ...(tls ? { tls: {}, sentinelTLS: {}, enableTLSForSentinelMode: true } : {}),
    },
  };
}

function sentinelAddress(item: string): { host: string; port: number } {
  const colon = item.lastIndexOf(':');
  const host = item.slice(0, colon).replace(/^\[|\]$/g, '');
  const port = Number(item.slice(colon + 1));
  if (colon < 0 || !host || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Error(`LIAISON_REDIS_SENTINELS: '${item}' is not host:port; expected e.g. redis-sentinel-0:26379,redis-sentinel-1:26379`);
  }
  return { host, port };
}

export function rateLimit({
  redis: target,
  prefix,
  limits,
  log,
}: {
  redis: RedisTarget | undefined;
  prefix: string;
  limits: Record<Bucket, Limit>;
  log: Log;
}) {
  if (!target) {
    log.warn('rate limits off: LIAISON_REDIS_URL is not set');
    return {};
  }
  const outage = outageLog(log);
  // No offline queue: while disconnected a command fails at once instead of waiting for a
  // reconnection, so an outage costs requests nothing.
  const options: RedisOptions = {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: COMMAND_TIMEOUT_MS,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
    // A server demoted to replica under us (failover): reconnect, through the sentinels if any,
    // to reach the new master.
    reconnectOnError: (error) => error.message.startsWith('READONLY'),
  };
  const redis = target.sentinel ? new Redis({ ...target.sentinel, ...options }) : new Redis(target.url, options);
  redis.on('error', (error) => outage.down(error));
  // EVALSHA, loading the script once per connection (ioredis falls back to EVAL on NOSCRIPT).
  redis.defineCommand('takeTokens', { numberOfKeys: 1, lua: TAKE_TOKENS });
  // One Redis call: give back what the expired lease left, take a new lease (or learn the wait).
  const takeLease = async (bucket: Bucket, key: string, lease: Lease): Promise<number> => {
    const { perMinute, burst } = limits[bucket];
    // Only an expired lease can hold tokens here: a live one would have been spent from.
    const unspent = lease.tokens;
    if (unspent > 0) lease.size = Math.max(1, lease.size >> 1); // more than was needed
    else if (Date.now() < lease.expiresAt) lease.size = Math.min(lease.size * 2, MAX_LEASE); // in demand
    lease.tokens = 0;
    const wanted = Math.max(1, Math.min(lease.size, MAX_LEASE, Math.floor(burst / 10)));
    try {
      const [taken, waitMs] = await (redis as any).takeTokens(key, burst, perMinute / 60_000, wanted, unspent);
      outage.up();
      if (!taken) return waitMs;
      lease.tokens = taken - 1; // this operation spends one
      lease.expiresAt = Date.now() + LEASE_MS;
      return 0;
    } catch (error: any) {
      lease.tokens += unspent; // not given back: keep them for the next call
      outage.down(error);
      return 0;
    }
  };
  const leases = new Leases();
  const take = async (bucket: Bucket, sub: string): Promise<number> => {
    const key = `${prefix}:ratelimit:${bucket}:${sub}`;
    const lease = leases.of(key);
    for (;;) {
      if (lease.tokens > 0 && Date.now() < lease.expiresAt) {
        lease.tokens -= 1;
        return 0;
      }
      if (!lease.pending) {
        // Concurrent operations of the principal wait for the same call, then spend from it.
        lease.pending = takeLease(bucket, key, lease).finally(() => (lease.pending = undefined));
        return await lease.pending;
      }
      const waitMs = await lease.pending;
      if (waitMs > 0) return waitMs;
    }
  };
  const check = async ({ args, setResultAndStopExecution }: any) => {
    const sub = args.contextValue?.jwt?.payload?.sub;
    if (typeof sub !== 'string') return; // no principal: the JWT plugin has refused it already
    const waitMs = await take(bucketOf(args.document, args.operationName), sub);
    if (waitMs > 0) setResultAndStopExecution(refusal(waitMs));
  };
  return {
    onExecute: check,
    onSubscribe: check,
    onDispose: () => redis.disconnect(), // an open connection would keep the process from exiting
  };
}
