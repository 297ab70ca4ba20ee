// The proxy's one request representation and its conversions: the HTTP/1.1
// framer's head becomes a field list, and both the HTTP/1.1 request head and
// the HTTP/2 request headers are written from one, converting only what the
// protocol change requires.
import { strict as assert } from "node:assert";
import { once } from "node:events";
import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { PassThrough } from "node:stream";
import { WEFT_CLIENT_ID, WEFT_PROTO, h2RequestHeaders, observableHeaders } from "../../sidecar/src/http/headers.ts";
import { fieldValue, fieldsOf, headerRecord, isGrpcRequest, type OutgoingFields, type ProxyRequest } from "../../sidecar/src/http/request.ts";
import { parseRequestHead } from "../../sidecar/src/http1/framer.ts";
import { chunkedBody, requestHead } from "../../sidecar/src/http1/request-head.ts";

/** A request as the HTTP/1.1 framer hands it to the proxy. */
function parsed(wire: string): ProxyRequest {
  const r = parseRequestHead(Buffer.from(wire, "latin1"), 16 * 1024);
  assert.equal(r.kind, "head");
  if (r.kind !== "head") throw new Error("not a head");
  return { method: r.head.method, authority: r.head.authority, path: r.head.target, fields: r.head.fields, fieldsChecked: true, hasBody: r.head.framing.kind !== "none", body: new PassThrough(), mayHaveTrailers: false, trailers: undefined };
}

/** A request as node:http2 hands it in (pseudo-headers first, nothing checked for HTTP/1.1). */
function fromH2(fields: string[], hasBody = false): ProxyRequest {
  return { method: fieldValue(fields, ":method") ?? "GET", authority: fieldValue(fields, ":authority") ?? "", path: fieldValue(fields, ":path") ?? "/", fields, fieldsChecked: false, hasBody, body: new PassThrough(), mayHaveTrailers: false, trailers: undefined };
}

const own = (req: ProxyRequest, addName = WEFT_PROTO, addValue = "h1"): OutgoingFields => ({ fields: req.fields, checked: req.fieldsChecked, addName, addValue });

/** The head's field lines, without the request line and the blank line. */
function lines(head: string | undefined): string[] {
  assert.ok(head !== undefined, "the head was written");
  assert.ok(head.endsWith("\r\n\r\n"));
  return head.slice(0, -4).split("\r\n").slice(1);
}

/** Pairs of a raw HTTP/2 header list, pseudo-headers included. */
function pairs(list: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < list.length; i += 2) out.push(`${list[i]}: ${list[i + 1]}`);
  return out;
}

const H1_WIRE = [
  "POST /cart?x=1 HTTP/1.1",
  "Host: shop.default.svc:8080",
  "Accept: text/html",
  "Connection: keep-alive, x-hop",
  "Keep-Alive: timeout=5",
  "Proxy-Connection: keep-alive",
  "TE: trailers",
  "X-Trace: a",
  "Content-Length: 5",
  "content-length: 5",
  "Weft-Client-Id: spiffe://forged",
  "weft-proto: h2",
  "Accept: application/json",
  "X-Trace: b",
  "",
  "",
].join("\r\n");

describe("one request representation: the field list", () => {
  it("keeps fields as they arrived: names lower-case, order across names and every repeat", () => {
    const req = parsed(H1_WIRE);
    assert.equal(req.authority, "shop.default.svc:8080");
    // All but Content-Length, whose agreeing repeats the framer makes one field (RFC 9112 §6.3).
    assert.deepEqual(req.fields.filter((_, i) => i % 2 === 0), ["host", "accept", "connection", "keep-alive", "proxy-connection", "te", "x-trace", "content-length", "weft-client-id", "weft-proto", "accept", "x-trace"]);
    assert.equal(fieldValue(req.fields, "accept"), "text/html", "a lookup finds the first");
  });

  it("reads the gRPC content type, and gives observers Node's by-name shape", () => {
    assert.equal(isGrpcRequest(["content-type", "application/grpc+proto"]), true);
    assert.equal(isGrpcRequest(["content-type", "application/json"]), false);
    assert.equal(isGrpcRequest([]), false);
    const record = headerRecord(["accept", "a", "set-cookie", "x", "cookie", "c=1", "accept", "b", "cookie", "d=2", "set-cookie", "y", "constructor", "z"]);
    assert.deepEqual({ ...record }, { accept: "a, b", "set-cookie": ["x", "y"], cookie: "c=1; d=2", constructor: "z" });
  });
});

describe("writing an HTTP/1.1 request head from the field list", () => {
  it("copies the fields in order, repeats kept, without hop-by-hop or Weft's own, then adds the proxy's field", () => {
    const req = parsed(H1_WIRE);
    assert.deepEqual(lines(requestHead(req, own(req), chunkedBody(req, own(req)))), [
      "host: shop.default.svc:8080",
      "accept: text/html",
      "x-trace: a",
      "content-length: 5",
      "accept: application/json",
      "x-trace: b",
      "weft-proto: h1",
    ]);
    assert.ok(requestHead(req, own(req), false)?.startsWith("POST /cart?x=1 HTTP/1.1\r\n"));
  });

  it("writes Host from the authority (an HTTP/2 request's :authority), and chunks a body of unknown length", () => {
    const req = fromH2([":method", "PUT", ":path", "/a", ":scheme", "http", ":authority", "app:9000", "host", "ignored", "x-a", "1"], true);
    const out = own(req, WEFT_CLIENT_ID, "spiffe://cluster.local/ns/web/sa/web");
    assert.equal(chunkedBody(req, out), true);
    assert.equal(requestHead(req, out, true), "PUT /a HTTP/1.1\r\nhost: app:9000\r\nx-a: 1\r\nweft-client-id: spiffe://cluster.local/ns/web/sa/web\r\ntransfer-encoding: chunked\r\n\r\n");
    assert.equal(chunkedBody(fromH2(["content-length", "3"], true), own(fromH2(["content-length", "3"], true))), false);
    assert.equal(chunkedBody(fromH2([], false), own(fromH2([], false))), false);
  });

  it("joins the Cookie fields HTTP/2 splits into one, where the first was (RFC 9113 §8.2.3)", () => {
    const req = fromH2([":method", "GET", ":path", "/", ":authority", "a", "cookie", "a=1", "x-b", "2", "cookie", "c=3"]);
    assert.deepEqual(lines(requestHead(req, own(req), false)), ["host: a", "cookie: a=1; c=3", "x-b: 2", "weft-proto: h1"]);
  });

  it("refuses what an HTTP/1.1 wire cannot carry from an HTTP/2 client: CR/LF in a value, a name that is no token, a bad target", () => {
    const base = [":method", "GET", ":path", "/", ":authority", "a"];
    for (const fields of [[...base, "x-a", "1\r\nx-injected: 1"], [...base, "bad name", "1"], [":method", "GET", ":path", "/a b", ":authority", "a"], [":method", "G(T", ":path", "/", ":authority", "a"], [":method", "GET", ":path", "/", ":authority", "a\r\nx: 1"]]) {
      const req = fromH2(fields);
      assert.equal(requestHead(req, own(req), false), undefined, JSON.stringify(fields));
    }
    const req = fromH2(base);
    assert.equal(requestHead(req, own(req, WEFT_CLIENT_ID, "spiffe://x\r\nx-injected: 1"), false), undefined, "the added value is always checked");
  });
});

describe("writing HTTP/2 request headers from the field list", () => {
  it("puts pseudo-headers first, copies the fields in order with repeats, drops hop-by-hop and Weft's own, then adds the proxy's field", () => {
    const req = parsed(H1_WIRE);
    assert.deepEqual(pairs(h2RequestHeaders(req, own(req, WEFT_PROTO, "h1"))), [
      ":method: POST",
      ":path: /cart?x=1",
      ":scheme: http",
      ":authority: shop.default.svc:8080",
      "accept: text/html",
      "te: trailers",
      "x-trace: a",
      "content-length: 5",
      "accept: application/json",
      "x-trace: b",
      "weft-proto: h1",
    ]);
  });

  it("keeps TE only as 'trailers' and only once (the value HTTP/2 allows, the one gRPC needs)", () => {
    const req = fromH2([":method", "POST", ":path", "/s/M", ":authority", "a", "te", "gzip", "content-type", "application/grpc", "te", "trailers", "te", "trailers, deflate"]);
    assert.deepEqual(pairs(h2RequestHeaders(req, own(req, WEFT_PROTO, "h2"))).slice(4), ["content-type: application/grpc", "te: trailers", "weft-proto: h2"]);
  });

  it("carries an HTTP/1.1 request to an HTTP/2 peer with every repeat, as node:http2 delivers it", async () => {
    const server = http2.createServer();
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const session = http2.connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, { strictSingleValueFields: false });
    try {
      const req = parsed("GET /p HTTP/1.1\r\nhost: h\r\ncontent-type: a\r\nx-b: 1\r\ncontent-type: b\r\nx-b: 2\r\n\r\n");
      const received = new Promise<string[]>((resolve) => server.once("stream", (stream, _h, _f, raw: string[]) => {
        stream.respond({ ":status": 200 }, { endStream: true });
        resolve(raw);
      }));
      const stream = session.request(h2RequestHeaders(req, own(req)), { endStream: true });
      stream.resume();
      assert.deepEqual(pairs(await received).slice(4), ["content-type: a", "x-b: 1", "content-type: b", "x-b: 2", "weft-proto: h1"]);
    } finally {
      session.destroy();
      server.close();
    }
  });
});

describe("the fields an observer may edit", () => {
  it("are the forwarded fields as an object; its edits (trace context added, a stale header removed) are what is sent", () => {
    const req = parsed("GET / HTTP/1.1\r\nhost: h\r\nconnection: close\r\nb3: 0\r\nx-a: 1\r\nx-a: 2\r\nweft-proto: h2\r\n\r\n");
    const headers = observableHeaders(req.fields);
    assert.deepEqual({ ...headers }, { b3: "0", "x-a": ["1", "2"] });
    delete headers.b3;
    headers.traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    const out: OutgoingFields = { fields: fieldsOf(headers), checked: false, addName: WEFT_PROTO, addValue: "h1" };
    assert.deepEqual(lines(requestHead(req, out, false)), ["host: h", "x-a: 1", "x-a: 2", "traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "weft-proto: h1"]);
  });
});
