// Files, not GraphQL, pass through to the subgraph that owns them: meeting invites, and the
// spreadsheet exports and imports of the handbook's templates. The subgraph authorizes the
// caller's bearer token exactly as for the GraphQL field the file mirrors; the gateway adds
// its secret and streams the body both ways (a 10,000-row export is never held in memory
// here), keeping the headers a download or a client's language needs.

export type FileRoute = { path: RegExp; methods: string[]; upstream: string };

const REQUEST_HEADERS = ['authorization', 'accept-language', 'content-type', 'content-length'];
const RESPONSE_HEADERS = ['content-type', 'content-disposition', 'content-length', 'cache-control', 'retry-after'];

export function fileRoutes({ routes, gatewaySecret }: { routes: FileRoute[]; gatewaySecret: string }) {
  return {
    async onRequest({ request, url, endResponse, fetchAPI }: any) {
      const route = routes.find((r) => r.path.test(url.pathname));
      if (!route) return;
      if (!route.methods.includes(request.method)) {
        endResponse(new fetchAPI.Response('method not allowed', { status: 405, headers: { allow: route.methods.join(', ') } }));
        return;
      }
      const headers: Record<string, string> = { 'x-liaison-gateway-secret': gatewaySecret };
      for (const name of REQUEST_HEADERS) {
        const value = request.headers.get(name);
        if (value) headers[name] = value;
      }
      const sendsBody = request.method !== 'GET' && request.method !== 'HEAD';
      const upstream = await fetchAPI.fetch(new URL(url.pathname + url.search, route.upstream), {
        method: request.method,
        headers,
        ...(sendsBody ? { body: request.body, duplex: 'half' } : {}),
      });
      const answer: Record<string, string> = {};
      for (const name of RESPONSE_HEADERS) {
        const value = upstream.headers.get(name);
        if (value) answer[name] = value;
      }
      endResponse(new fetchAPI.Response(upstream.body, { status: upstream.status, headers: answer }));
    },
  };
}
