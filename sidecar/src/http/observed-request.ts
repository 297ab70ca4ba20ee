// A request as the request observer sees it (http/request-observer.ts). Its
// headers, in Node's by-name shape, are built from the field list only when an
// observer reads them: with no observer, a request pays for one small object,
// as it did for the literal this replaces.
import type { ObservedRequest } from "./request-observer.ts";
import { headerRecord, type ProxyRequest } from "./request.ts";

export class ObservedProxyRequest implements ObservedRequest {
  readonly direction: "outbound" | "inbound";
  readonly method: string;
  readonly path: string;
  readonly authority: string;
  readonly protocol: "h1" | "h2";
  readonly grpc: boolean;
  readonly service: string;
  readonly peerIdentity: string;
  readonly route: string | undefined;
  readonly authz: "allow" | "deny" | undefined;
  readonly #fields: readonly string[];
  #headers: Readonly<Record<string, string | string[]>> | undefined;

  constructor(direction: "outbound" | "inbound", request: ProxyRequest, protocol: "h1" | "h2", grpc: boolean, service: string, peerIdentity: string, route?: string, authz?: "allow" | "deny") {
    this.direction = direction;
    this.method = request.method;
    this.path = request.path;
    this.authority = request.authority;
    this.protocol = protocol;
    this.grpc = grpc;
    this.service = service;
    this.peerIdentity = peerIdentity;
    this.route = route;
    this.authz = authz;
    this.#fields = request.fields;
  }

  get headers(): Readonly<Record<string, string | string[]>> {
    this.#headers ??= headerRecord(this.#fields);
    return this.#headers;
  }
}
