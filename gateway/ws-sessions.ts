// WebSocket sessions end with their tokens (graphql-transport-ws on /graphql):
//  - a connection_init is answered with connection_ack only when its payload carries a valid
//    token; otherwise the socket closes with 4401 Unauthorized and nothing else is sent;
//  - an admitted connection closes with 4403 Forbidden when its token's `exp` passes; the
//    client reconnects with a fresh token.
//
// Hive Gateway's CLI serves WebSockets with graphql-ws's `useServer` on a `ws` WebSocketServer
// and gives it no `onConnect` (startNodeHttpServer in @graphql-hive/gateway's dist/cli-*.js;
// getGraphQLWSOptions in @graphql-hive/gateway-runtime returns only execute, subscribe and
// onSubscribe), so it acknowledges every connection_init and checks tokens per operation only;
// neither the config nor a plugin hook reaches that server. So this wraps
// `WebSocketServer.prototype.handleUpgrade`, which `ws` calls for every upgrade of a server it
// is attached to, and takes each socket before graphql-ws does: a listener of ours sees every
// message first, and the socket's `send` holds whatever graphql-ws sends (its connection_ack
// first of all) until the connection_init has been verified.

import { LegacyLogger, useJWT, type JWTAuthPluginOptions, type Logger } from '@graphql-hive/gateway';
import { WebSocketServer, type WebSocket } from 'ws';

const UNAUTHORIZED = 4401;
const FORBIDDEN = 4403;
// setTimeout fires at once for a longer delay; a token valid longer is waited for in steps.
const MAX_TIMER_MS = 2 ** 31 - 1;

/** The verified claims of the token in a connection_init payload; throws when there is none. */
export type Verify = (connectionParams: Record<string, unknown>) => Promise<Record<string, unknown>>;

/**
 * Verification by a private instance of the gateway's own JWT plugin with the gateway's `jwt`
 * options: a connection is admitted exactly when an operation carrying the same connection
 * params would be (same token lookup locations, signing keys and verification options).
 */
export function jwtVerifier(options: JWTAuthPluginOptions, log: Logger): Verify {
  let plugin: any;
  // The gateway's useJWT wraps graphql-yoga's JWT plugin, which it adds on init.
  (useJWT(options) as any).onPluginInit({ addPlugin: (added: unknown) => (plugin = added) });
  plugin.onYogaInit({ yoga: { logger: LegacyLogger.from(log) } });
  return async (connectionParams) => {
    // The plugin looks the token up and, once verified, sets `jwt` on the server context.
    const serverContext: Record<string, any> = { connectionParams };
    await plugin.onRequestParse({ serverContext });
    const claims = serverContext.jwt?.payload;
    if (!claims || typeof claims !== 'object') throw new Error('no token in the connection_init payload');
    return claims;
  };
}

/** Guard every graphql-transport-ws socket of this process (the gateway has one server). */
export function wsSessions({ verify, log }: { verify: Verify; log: Logger }): void {
  const handleUpgrade = WebSocketServer.prototype.handleUpgrade;
  WebSocketServer.prototype.handleUpgrade = function (this: WebSocketServer, req, socket, head, done) {
    return handleUpgrade.call(this, req, socket, head, (ws: WebSocket, request) => {
      guard(ws, verify, log); // before `done` emits 'connection', where graphql-ws takes it
      done(ws, request);
    });
  };
}

function guard(socket: WebSocket, verify: Verify, log: Logger): void {
  let admitted: Promise<boolean> | undefined; // settled once the connection_init is verified
  socket.on('message', (data) => {
    if (admitted) return;
    const params = connectionInitPayload(String(data));
    if (params) admitted = admit(socket, params, verify, log);
  });
  holdSends(socket, () => admitted);
}

/** The payload of a connection_init message (graphql-ws allows it to be absent), else undefined. */
function connectionInitPayload(text: string): Record<string, unknown> | undefined {
  let message: any;
  try {
    message = JSON.parse(text);
  } catch {
    return undefined; // graphql-ws closes the socket for it (4400)
  }
  if (message?.type !== 'connection_init') return undefined;
  const payload = message.payload;
  return payload && typeof payload === 'object' && !Array.isArray(payload) ? payload : {};
}

async function admit(socket: WebSocket, params: Record<string, unknown>, verify: Verify, log: Logger): Promise<boolean> {
  let expiresAt: number;
  try {
    expiresAt = expiryOf(await verify(params));
  } catch (error: any) {
    log.info({ reason: String(error?.message ?? error) }, 'WebSocket refused: 4401 Unauthorized');
    socket.close(UNAUTHORIZED, 'Unauthorized');
    return false;
  }
  closeWhenExpired(socket, expiresAt);
  return true;
}

/** When the token expires (ms since the epoch); a session needs an end, so `exp` is required. */
function expiryOf(claims: Record<string, unknown>): number {
  const exp = claims.exp;
  if (typeof exp !== 'number' || !Number.isFinite(exp)) throw new Error('the token has no exp');
  if (exp * 1000 <= Date.now()) throw new Error('the token has expired');
  return exp * 1000;
}

function closeWhenExpired(socket: WebSocket, expiresAt: number): void {
  let timer: NodeJS.Timeout | undefined;
  const check = () => {
    const left = expiresAt - Date.now();
    if (left <= 0) {
      socket.close(FORBIDDEN, 'Token expired');
      return;
    }
    timer = setTimeout(check, Math.min(left, MAX_TIMER_MS)).unref();
  };
  socket.once('close', () => clearTimeout(timer));
  check();
}

/**
 * What graphql-ws sends leaves only once the connection_init is admitted, in order; nothing
 * does after a refusal or on a socket no longer open (the callback still runs, so graphql-ws
 * carries on as for a socket that closed).
 */
function holdSends(socket: WebSocket, admitted: () => Promise<boolean> | undefined): void {
  const send = socket.send.bind(socket);
  socket.send = ((data: any, ...rest: any[]) => {
    const done = rest.find((arg) => typeof arg === 'function');
    void (admitted() ?? Promise.resolve(true)).then((ok) => {
      if (ok && socket.readyState === socket.OPEN) send(data, ...rest);
      else done?.();
    });
  }) as WebSocket['send'];
}
