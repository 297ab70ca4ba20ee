// An app's kubelet probe as the injector hands it to the proxy (rewritten to
// /app-health/<container>/<probe> on the admin port): the proxy's config parses
// it, the admin server runs it against the app on localhost.
export type AppProbe =
  | { httpGet: { port: number; path: string; scheme: "HTTP" | "HTTPS"; httpHeaders?: { name: string; value: string }[] }; timeoutSeconds: number }
  | { tcpSocket: { port: number }; timeoutSeconds: number };

