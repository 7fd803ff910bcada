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
// Redis is not needed to serve: while it cannot be reached (or answers slower than
// COMMAND_TIMEOUT_MS) operations go through unlimited, with one warning per outage in the
// log and one line when it is back.

import { GraphQLError, Kind, type DocumentNode, type SelectionSetNode } from 'graphql';
import { Redis, type RedisOptions } from 'ioredis';

export type Limit = { perMinute: number; burst: number };

type Log = { warn: (message: string) => void; info: (message: string) => void };

// A request waits at most this long for Redis before it goes through unlimited.
const COMMAND_TIMEOUT_MS = 250;

// KEYS[1]: the bucket. ARGV[1]: its capacity (the burst), ARGV[2]: tokens added per ms.
// Redis' own clock, so that replicas with skewed clocks refill a bucket alike. The bucket
// expires once it would be full again: an idle principal leaves nothing in Redis.
// Returns {1, 0} when a token was taken, else {0, ms until the next one}.
const TAKE_TOKEN = `
local capacity = tonumber(ARGV[1])
local per_ms = tonumber(ARGV[2])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or capacity
local at = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - at) * per_ms)
local taken, wait = 0, 0
if tokens >= 1 then
  tokens = tokens - 1
  taken = 1
else
  wait = math.ceil((1 - tokens) / per_ms)
end
redis.call('HSET', KEYS[1], 'tokens', tokens, 'at', now)
redis.call('PEXPIRE', KEYS[1], math.ceil((capacity - tokens) / per_ms) + 1000)
return {taken, wait}
`;

type Bucket = 'operations' | 'events';

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
  redis.defineCommand('takeToken', { numberOfKeys: 1, lua: TAKE_TOKEN });
  const take = async (bucket: Bucket, sub: string): Promise<number> => {
    const { perMinute, burst } = limits[bucket];
    const key = `${prefix}:ratelimit:${bucket}:${sub}`;
    try {
      const [taken, waitMs] = await (redis as any).takeToken(key, burst, perMinute / 60_000);
      outage.up();
      return taken ? 0 : waitMs;
    } catch (error: any) {
      outage.down(error);
      return 0;
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
