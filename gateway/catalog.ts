// The event catalog, served as it is committed: GET /asyncapi.json answers the AsyncAPI 3.0
// document that `python -m shared.events.catalog` writes (shared/events/asyncapi.json; the
// gateway image holds it at the same place relative to this file). Every event's
// `dataschema` is a URL into it (LIAISON_EVENT_CATALOG_URL on the Python side).
//
// Public, like a published API contract: no token is needed, so a partner's tooling (a
// CloudEvents SDK resolving `dataschema`, AsyncAPI Studio in a browser: hence CORS `*`) can
// fetch it. It holds no data and nothing beyond the event types and their fields. The file
// is read once at start-up, so a gateway without its catalog does not start; an ETag lets
// clients revalidate cheaply.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

export const CATALOG_PATH = '/asyncapi.json';
const CATALOG_FILE = new URL('../shared/events/asyncapi.json', import.meta.url);

export function eventCatalog() {
  const body = readFileSync(CATALOG_FILE);
  const etag = `"${createHash('sha256').update(body).digest('base64url')}"`;
  const headers = {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'public, max-age=300',
    'access-control-allow-origin': '*',
    etag,
  };
  return {
    onRequest({ request, url, endResponse, fetchAPI }: any) {
      if (url.pathname !== CATALOG_PATH) return;
      if (request.method !== 'GET' && request.method !== 'HEAD') {
        endResponse(new fetchAPI.Response(null, { status: 405, headers: { allow: 'GET, HEAD' } }));
        return;
      }
      const tags = (request.headers.get('if-none-match') ?? '').split(',').map((t: string) => t.trim());
      const unchanged = tags.some((t: string) => t === '*' || t.replace(/^W\//, '') === etag);
      const content = unchanged || request.method === 'HEAD' ? null : body;
      endResponse(new fetchAPI.Response(content, { status: unchanged ? 304 : 200, headers }));
    },
  };
}
