// The request a route forwards, as a Downstream: the client's own, with the
// target, authority and fields the rule's filters gave it, and the response
// header modifiers applied to the head on its way back. Everything else
// (body, trailers, the way back to the client) is the client's request's.
// Built only for a routed request whose filters change something.
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http";
import type { Readable, Writable } from "node:stream";
import type { HeaderModifier__Output } from "../../../api/gen/weft/discovery/v1/HeaderModifier.ts";
import { writeResponseBody, type Downstream } from "../http/downstream.ts";
import { modifyResponseHeaders } from "../routing/header-filters.ts";

export class RoutedDownstream implements Downstream {
  readonly proto: "h1" | "h2";
  readonly method: string;
  readonly path: string;
  readonly authority: string;
  readonly fields: readonly string[];
  readonly fieldsChecked: boolean;
  readonly hasBody: boolean;
  readonly body: Readable;
  readonly mayHaveTrailers: boolean;
  readonly expectsContinue: boolean;
  readonly #ds: Downstream;
  readonly #response: readonly HeaderModifier__Output[];

  constructor(ds: Downstream, path: string, authority: string, fields: readonly string[], response: readonly HeaderModifier__Output[]) {
    this.#ds = ds;
    this.proto = ds.proto;
    this.method = ds.method;
    this.path = path;
    this.authority = authority;
    this.fields = fields;
    // Edited fields are checked again by an HTTP/1.1 writer.
    this.fieldsChecked = fields === ds.fields && ds.fieldsChecked;
    this.hasBody = ds.hasBody;
    this.body = ds.body;
    this.mayHaveTrailers = ds.mayHaveTrailers;
    this.expectsContinue = ds.expectsContinue;
    this.#response = response;
  }

  get trailers(): IncomingHttpHeaders | undefined {
    return this.#ds.trailers;
  }

  get sink(): Writable {
    return this.#ds.sink;
  }

  get responded(): boolean {
    return this.#ds.responded;
  }

  writeBody(chunk: Buffer, onDrain: () => void): boolean {
    return writeResponseBody(this.#ds, chunk, onDrain);
  }

  respond(status: number, headers: OutgoingHttpHeaders, endStream: boolean): void {
    let out = headers;
    for (const m of this.#response) out = modifyResponseHeaders(out, m);
    this.#ds.respond(status, out, endStream);
  }

  finish(trailers: OutgoingHttpHeaders | undefined): void {
    this.#ds.finish(trailers);
  }

  abort(): void {
    this.#ds.abort();
  }

  onAbort(listener: () => void): void {
    this.#ds.onAbort(listener);
  }

  sendContinue(): void {
    this.#ds.sendContinue();
  }
}

/**
 * A mirrored copy of a request: same head, no body (see docs/routing.md),
 * and a way back that discards whatever the mirror backend answers. It never
 * reports the client gone, so the copy runs to its own end.
 */
export class MirrorDownstream implements Downstream {
  readonly proto: "h1" | "h2";
  readonly method: string;
  readonly path: string;
  readonly authority: string;
  readonly fields: readonly string[];
  readonly fieldsChecked: boolean;
  readonly hasBody = false;
  readonly body: Readable;
  readonly mayHaveTrailers = false;
  readonly trailers = undefined;
  readonly expectsContinue = false;
  readonly sink: Writable;
  #responded = false;

  constructor(of: Downstream, path: string, authority: string, fields: readonly string[], body: Readable, sink: Writable) {
    this.proto = of.proto;
    this.method = of.method;
    this.path = path;
    this.authority = authority;
    this.fields = fields;
    this.fieldsChecked = fields === of.fields && of.fieldsChecked;
    this.body = body;
    this.sink = sink;
  }

  get responded(): boolean {
    return this.#responded;
  }

  respond(): void {
    this.#responded = true;
  }

  finish(): void {}

  abort(): void {}

  onAbort(): void {}

  sendContinue(): void {}
}
