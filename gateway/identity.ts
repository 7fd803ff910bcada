// Which tokens the gateway accepts: the keys they may be signed with and the claims they must
// carry. The same rules as shared/tokens.py, so a token the gateway lets through is one every
// subgraph accepts too. Keys, in this order of precedence:
//  - LIAISON_JWT_PUBLIC_KEY: one PEM key, RS256 (or the asymmetric LIAISON_JWT_ALGORITHM);
//  - LIAISON_JWT_JWKS_URL: the identity provider's JWKS, the key picked by the token's `kid`;
//  - an HS* LIAISON_JWT_ALGORITHM (the development default): LIAISON_JWT_SECRET;
//  - otherwise: the JWKS that OIDC discovery under LIAISON_JWT_ISSUER names.
// Every token needs `sub`, `exp`, `iss` = LIAISON_JWT_ISSUER and an `aud` naming
// LIAISON_JWT_AUDIENCE, with LIAISON_JWT_LEEWAY_SECONDS of clock skew on exp, nbf and iat.
import { createPublicKey, createSecretKey, type KeyObject } from 'node:crypto';
import { GraphQLError } from 'graphql';
import {
  createInlineSigningKeyProvider,
  createRemoteJwksSigningKeyProvider,
  type ExtractTokenFunction,
  type GetSigningKeyFunction,
} from '@graphql-hive/gateway';

type Env = Record<string, string | undefined>;

const SHARED_SECRET_ALGORITHMS = ['HS256', 'HS384', 'HS512'];
// What an identity provider's key may sign with: never `none`, never HS* (a public key used
// as an HMAC secret would let anyone who has read it sign tokens).
const ASYMMETRIC_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512'];
// JWKS fetches for keys not yet cached (a rotation, or made-up key ids): about one per 10 s,
// as in shared/tokens.py, so forged tokens cannot make the gateway hammer the provider.
const JWKS_FETCHES_PER_MINUTE = 6;
const FETCH_TIMEOUT_MS = 5000;

const isSharedSecret = (algorithm: string) => SHARED_SECRET_ALGORITHMS.includes(algorithm);

// Refusals of the gateway's own: coded here, since error-codes.ts codes only the JWT plugin's
// bare "Unauthenticated".
function unauthenticated(reason: string): GraphQLError {
  return new GraphQLError(`Unauthenticated: ${reason}`, {
    extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } },
  });
}

type KeySource = {
  provider: GetSigningKeyFunction;
  algorithms: string[];
  // The HS* key, when tokens are signed with one (the development-secret check reads it).
  sharedSecret?: string;
  // Set for a JWKS: resolves a kid before verification, refusing an unknown one.
  jwks?: GetSigningKeyFunction;
};

async function discoverJwksUri(issuer: string): Promise<string> {
  const url = `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
  const response = await fetch(url, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
  if (!response.ok) throw new Error(`OIDC discovery at ${url} answered HTTP ${response.status}`);
  const document: any = await response.json();
  if (typeof document?.jwks_uri !== 'string') throw new Error(`OIDC discovery at ${url} names no jwks_uri`);
  // OIDC requires it; another value means LIAISON_JWT_ISSUER is not this provider's.
  if (document.issuer !== issuer) {
    throw new Error(`OIDC discovery at ${url} names issuer ${document.issuer}, not LIAISON_JWT_ISSUER ${issuer}`);
  }
  return document.jwks_uri;
}

// Hive's remote JWKS provider (jwks-rsa: keys cached by kid for cacheSeconds, a kid it has not
// cached fetches the JWKS), plus: an unknown kid is the client's UNAUTHENTICATED, not a
// failure of the gateway; and while the provider cannot be reached, the keys it gave last stay
// in use.
// jsonwebtoken turns a key given as text into a KeyObject on every verification, first trying it
// as a public key, which throws for a shared secret: a third of the gateway's token check.
// The keys are handed over as KeyObjects, made once (a JWKS key once per key it publishes).
const asKeyObject = (key: string): KeyObject =>
  key.includes('-----BEGIN') ? createPublicKey(key) : createSecretKey(Buffer.from(key));
const KEYS_REMEMBERED = 64;
const jwksKeyObjects = new Map<string, KeyObject>();
function jwksKeyObject(pem: string): KeyObject {
  let found = jwksKeyObjects.get(pem);
  if (!found) {
    if (jwksKeyObjects.size >= KEYS_REMEMBERED) jwksKeyObjects.clear(); // rotated keys age out
    found = createPublicKey(pem);
    jwksKeyObjects.set(pem, found);
  }
  return found;
}

function remoteJwks(jwksUri: () => Promise<string>, cacheSeconds: number): GetSigningKeyFunction {
  let jwks: Promise<GetSigningKeyFunction> | undefined;
  const lastKeys = new Map<string, string>();
  return async (kid) => {
    jwks ??= jwksUri().then(
      (uri) =>
        createRemoteJwksSigningKeyProvider({
          jwksUri: uri,
          cache: true,
          cacheMaxAge: cacheSeconds * 1000,
          rateLimit: true,
          jwksRequestsPerMinute: JWKS_FETCHES_PER_MINUTE,
          timeout: FETCH_TIMEOUT_MS,
        }),
      (error) => {
        jwks = undefined; // discover again on the next token
        throw error;
      },
    );
    const name = kid ?? '';
    try {
      const key = await (await jwks)(kid);
      lastKeys.set(name, key);
      return jwksKeyObject(key) as any; // a KeyObject where the type says a PEM text
    } catch (error: any) {
      const notFound = error?.name === 'SigningKeyNotFoundError';
      if (notFound) lastKeys.delete(name);
      const last = lastKeys.get(name);
      if (last) return jwksKeyObject(last) as any;
      if (notFound || error?.name === 'JwksRateLimitError') {
        throw unauthenticated(`unknown key id ${JSON.stringify(kid)}: not among the identity provider's keys`);
      }
      throw error;
    }
  };
}

function keySource(env: Env, secret: string, publicKey: string | undefined, issuer: string): KeySource {
  // A public key with a shared-secret algorithm (the HS256 default) means RS256, as in
  // shared/tokens.py's token_algorithm.
  const configured = env.LIAISON_JWT_ALGORITHM || 'HS256';
  const algorithm = publicKey && isSharedSecret(configured) ? 'RS256' : configured;
  if (!isSharedSecret(algorithm) && !ASYMMETRIC_ALGORITHMS.includes(algorithm)) {
    throw new Error(
      `LIAISON_JWT_ALGORITHM=${algorithm} is not supported: use ${[...SHARED_SECRET_ALGORITHMS, ...ASYMMETRIC_ALGORITHMS].join(', ')}`,
    );
  }
  const cacheSeconds = Number(env.LIAISON_JWT_JWKS_CACHE_SECONDS || 300);
  const fromJwks = (jwks: GetSigningKeyFunction): KeySource => ({ provider: jwks, algorithms: ASYMMETRIC_ALGORITHMS, jwks });
  const inline = (key: string) => createInlineSigningKeyProvider(asKeyObject(key) as any);
  if (publicKey) return { provider: inline(publicKey), algorithms: [algorithm] };
  const jwksUrl = env.LIAISON_JWT_JWKS_URL;
  if (jwksUrl) return fromJwks(remoteJwks(async () => jwksUrl, cacheSeconds));
  if (isSharedSecret(algorithm)) {
    return { provider: inline(secret), algorithms: [algorithm], sharedSecret: secret };
  }
  if (/^https?:\/\/[^/]/i.test(issuer)) return fromJwks(remoteJwks(() => discoverJwksUri(issuer), cacheSeconds));
  throw new Error(
    `LIAISON_JWT_ALGORITHM=${algorithm} needs LIAISON_JWT_PUBLIC_KEY, LIAISON_JWT_JWKS_URL or an http(s) ` +
      `LIAISON_JWT_ISSUER (OIDC discovery); it is ${JSON.stringify(issuer)}`,
  );
}

function decodePart(part: string | undefined): any {
  try {
    return JSON.parse(Buffer.from(part ?? '', 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
}

// The JWT plugin (jsonwebtoken) checks exp, nbf, iss and aud only when the token has them, and
// never iat: a token without `exp` would never expire. So each found token is screened before
// the plugin verifies it. Refusing here adds refusals only: what passes is still verified.
async function screen(token: string, leewaySeconds: number, jwks: GetSigningKeyFunction | undefined): Promise<void> {
  const [headerPart, payloadPart] = token.split('.');
  const header = decodePart(headerPart);
  const payload = decodePart(payloadPart);
  if (!header || !payload || typeof payload !== 'object') return; // not a JWT: the plugin refuses it
  if (typeof payload.exp !== 'number') throw unauthenticated('the token has no exp claim: only tokens that expire are accepted');
  if (typeof payload.sub !== 'string' || !payload.sub.trim()) throw unauthenticated('the token has no sub claim');
  if (typeof payload.iat === 'number' && payload.iat > Date.now() / 1000 + leewaySeconds) {
    throw unauthenticated('the token is not yet valid: its iat is in the future');
  }
  // The plugin turns any failure to find a key into a masked internal error; an unknown kid is
  // the client's mistake, so it is refused here (the key is cached for the plugin's own lookup).
  if (jwks) await jwks(header.kid);
}

export type Identity = {
  // The HS* key when tokens are signed with one; undefined for a public key or a JWKS.
  sharedSecret?: string;
  // The `jwt` options of defineConfig, reading the token from `lookups` (first found wins).
  jwt: (lookups: ExtractTokenFunction[]) => any;
};

export function identity(env: Env, secret: string, publicKey: string | undefined): Identity {
  const issuer = env.LIAISON_JWT_ISSUER || 'liaison-dev';
  const leewaySeconds = Number(env.LIAISON_JWT_LEEWAY_SECONDS || 30);
  const keys = keySource(env, secret, publicKey, issuer);
  return {
    sharedSecret: keys.sharedSecret,
    jwt: (lookups) => ({
      signingKeyProviders: [keys.provider],
      tokenLookupLocations: lookups.map((lookup): ExtractTokenFunction => async (params) => {
        const found = await lookup(params);
        if (found?.token) await screen(found.token, leewaySeconds, keys.jwks);
        return found;
      }),
      tokenVerification: {
        algorithms: keys.algorithms,
        issuer,
        audience: env.LIAISON_JWT_AUDIENCE || 'liaison',
        clockTolerance: leewaySeconds,
      },
      reject: { missingToken: true, invalidToken: true },
      // Subgraphs verify the forwarded Authorization header themselves; don't also stuff the
      // decoded payload into every upstream request's `extensions`.
      forward: { payload: false, token: false },
    }),
  };
}
