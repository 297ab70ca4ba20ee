import { strict as assert } from "node:assert";
import type { IncomingHttpHeaders } from "node:http";
import { BodyReader } from "../../sidecar/src/http1/body-reader.ts";
import { headerLines, parseRequestHead, parseResponseHead, type Framing } from "../../sidecar/src/http1/framer.ts";
import { fallbackRefusal, frameRefusal } from "../../sidecar/src/http1/refusals.ts";

const LIMIT = 16 * 1024;
const b = (s: string): Buffer => Buffer.from(s, "latin1");

/** Feeds `pieces` to a BodyReader as a stream would; returns the body, trailers, leftover and error. */
function readBody(framing: Framing, pieces: Buffer[]): { body: string; done: boolean; trailers?: IncomingHttpHeaders; rest: string; error?: string } {
  const reader = new BodyReader(framing, 1024);
  const data: Buffer[] = [];
  let rest = "";
  let trailers: IncomingHttpHeaders | undefined;
  for (const piece of pieces) {
    if (reader.done) {
      rest += piece.toString("latin1");
      continue;
    }
    const step = reader.push(piece, (chunk) => data.push(chunk));
    if (step.error) return { body: Buffer.concat(data).toString("latin1"), done: true, rest, error: step.error };
    if (step.trailers) trailers = { ...step.trailers };
    rest += piece.subarray(step.consumed).toString("latin1");
  }
  return { body: Buffer.concat(data).toString("latin1"), done: reader.done, trailers, rest };
}

/** Every way of cutting `wire` in two. */
function splits(wire: Buffer): Buffer[][] {
  const out: Buffer[][] = [];
  for (let i = 0; i <= wire.length; i++) out.push([wire.subarray(0, i), wire.subarray(i)]);
  return out;
}

describe("HTTP/1.1 framer: request heads", () => {
  it("parses a request line and headers into the proxy's field list, in order, repeats kept", () => {
    const wire = b("GET /a?b=1 HTTP/1.1\r\nHost: x\r\nSet-Cookie: a\r\nset-cookie: b\r\nAccept: 1\r\naccept: 2\r\nX-Pad:  v  \r\n\r\nrest");
    const r = parseRequestHead(wire, LIMIT);
    assert.equal(r.kind, "head");
    if (r.kind !== "head") return;
    assert.equal(r.head.method, "GET");
    assert.equal(r.head.target, "/a?b=1");
    assert.equal(r.head.minor, 1);
    assert.deepEqual(r.head.fields, ["host", "x", "set-cookie", "a", "set-cookie", "b", "accept", "1", "accept", "2", "x-pad", "v"]);
    assert.equal(r.head.authority, "x");
    assert.deepEqual(r.head.framing, { kind: "none" });
    assert.equal(r.head.keepAlive, true);
    assert.equal(r.head.unusual, false);
    assert.equal(r.consumed, wire.length - 4);
  });

  it("is incomplete until the blank line, at every cut", () => {
    const wire = b("POST /p HTTP/1.1\r\nhost: x\r\ncontent-length: 3\r\n\r\n");
    for (let i = 0; i < wire.length; i++) assert.equal(parseRequestHead(wire.subarray(0, i), LIMIT).kind, "incomplete", `cut at ${i}`);
    const r = parseRequestHead(wire, LIMIT);
    assert.ok(r.kind === "head" && r.consumed === wire.length && r.head.framing.kind === "length");
  });

  it("decides keep-alive from version and Connection, flags Upgrade and Expect but 100-continue as unusual", () => {
    const head = (s: string) => {
      const r = parseRequestHead(b(s), LIMIT);
      assert.equal(r.kind, "head");
      return r.kind === "head" ? r.head : undefined;
    };
    assert.equal(head("GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")?.keepAlive, false);
    assert.equal(head("GET / HTTP/1.0\r\n\r\n")?.keepAlive, false);
    assert.equal(head("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n")?.keepAlive, true);
    const expectContinue = head("PUT / HTTP/1.1\r\nhost: x\r\nExpect: 100-Continue\r\ncontent-length: 1\r\n\r\n");
    assert.equal(expectContinue?.unusual, false);
    assert.equal(expectContinue?.expectContinue, true);
    assert.equal(head("PUT / HTTP/1.1\r\nhost: x\r\nexpect: something-else\r\ncontent-length: 1\r\n\r\n")?.unusual, true);
    assert.equal(head("GET / HTTP/1.1\r\nhost: x\r\nconnection: Upgrade\r\nupgrade: websocket\r\n\r\n")?.unusual, true);
  });

  it("forwards agreeing Content-Length values, repeated or listed, as one field with one value", () => {
    const fields = (s: string) => {
      const r = parseRequestHead(b(s), LIMIT);
      assert.equal(r.kind, "head");
      return r.kind === "head" ? { fields: r.head.fields, framing: r.head.framing } : undefined;
    };
    assert.deepEqual(fields("POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 5, 5\r\nx-a: 1\r\n\r\n"), { fields: ["host", "x", "content-length", "5", "x-a", "1"], framing: { kind: "length", length: 5 } });
    assert.deepEqual(fields("POST / HTTP/1.1\r\ncontent-length: 5\r\nhost: x\r\nContent-Length: 5\r\nx-a: 1\r\ncontent-length: 5,5\r\n\r\n"), { fields: ["content-length", "5", "host", "x", "x-a", "1"], framing: { kind: "length", length: 5 } });
    assert.deepEqual(fields("POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 0, 0\r\n\r\n"), { fields: ["host", "x", "content-length", "0"], framing: { kind: "none" } });
    assert.deepEqual(fields("POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 5\r\n\r\n")?.fields, ["host", "x", "content-length", "5"]);
  });

  it("rewrites an absolute-form target to origin-form, its authority replacing Host", () => {
    const head = (s: string) => {
      const r = parseRequestHead(b(s), LIMIT);
      return r.kind === "head" ? { target: r.head.target, authority: r.head.authority } : r;
    };
    assert.deepEqual(head("GET http://svc.ns:8080/a/b?c=d HTTP/1.1\r\nhost: other\r\n\r\n"), { target: "/a/b?c=d", authority: "svc.ns:8080" });
    assert.deepEqual(head("GET HTTP://svc HTTP/1.1\r\nhost: svc\r\n\r\n"), { target: "/", authority: "svc" });
    assert.deepEqual(head("GET http://svc?q HTTP/1.1\r\nhost: svc\r\n\r\n"), { target: "/?q", authority: "svc" });
    assert.deepEqual(head("GET https://[::1]:8443/x HTTP/1.1\r\n\r\n"), { target: "/x", authority: "[::1]:8443" });
    assert.deepEqual(head("OPTIONS * HTTP/1.1\r\nhost: svc\r\n\r\n"), { target: "*", authority: "svc" });
    assert.deepEqual(head("GET /p://q HTTP/1.1\r\nhost: svc\r\n\r\n"), { target: "/p://q", authority: "svc" });
  });

  it("takes an HTTP/1.0 request without Host", () => {
    const r = parseRequestHead(b("GET / HTTP/1.0\r\n\r\n"), LIMIT);
    assert.ok(r.kind === "head" && r.head.authority === "");
  });

  const refusedWith: [string, string, string][] = [
    ["an HTTP/1.1 request without Host", "GET / HTTP/1.1\r\n\r\n", "missing-host"],
    ["two Host fields, even equal", "GET / HTTP/1.1\r\nhost: x\r\nHost: x\r\n\r\n", "duplicate-host"],
    ["two Host fields with an absolute-form target", "GET http://a/ HTTP/1.1\r\nhost: a\r\nhost: b\r\n\r\n", "duplicate-host"],
    ["an absolute-form target with userinfo", "GET http://u@a/ HTTP/1.1\r\nhost: a\r\n\r\n", "bad-target"],
    ["an absolute-form target of another scheme", "GET ftp://a/ HTTP/1.1\r\nhost: a\r\n\r\n", "bad-target"],
    ["an absolute-form target with no authority", "GET http:///p HTTP/1.1\r\nhost: a\r\n\r\n", "bad-target"],
    ["an absolute-form target with a fragment", "GET http://a/p#f HTTP/1.1\r\nhost: a\r\n\r\n", "bad-target"],
    ["a coding before chunked", "POST / HTTP/1.1\r\nhost: x\r\ntransfer-encoding: gzip, chunked\r\n\r\n", "unsupported-transfer-encoding"],
    ["a coding before chunked in another field", "POST / HTTP/1.1\r\nhost: x\r\ntransfer-encoding: gzip\r\ntransfer-encoding: chunked\r\n\r\n", "unsupported-transfer-encoding"],
    ["chunked twice", "POST / HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked, chunked\r\n\r\n", "unsupported-transfer-encoding"],
    ["identity coding", "POST / HTTP/1.1\r\nhost: x\r\ntransfer-encoding: identity\r\n\r\n", "chunked-not-final"],
    ["a coding list not ending in chunked", "POST / HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked, gzip\r\n\r\n", "chunked-not-final"],
    ["repeated agreeing Content-Length beside Transfer-Encoding", "POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 5, 5\r\ntransfer-encoding: chunked\r\n\r\n", "smuggling"],
    ["Content-Length values that disagree in one field", "POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 5, 6\r\n\r\n", "bad-content-length"],
  ];
  for (const [what, wire, reason] of refusedWith) {
    it(`refuses ${what} (${reason})`, () => assert.deepEqual(parseRequestHead(b(wire), LIMIT), { kind: "error", reason }));
  }

  const refused: [string, string][] = [
    ["both Content-Length and Transfer-Encoding (smuggling)", "POST / HTTP/1.1\r\ncontent-length: 5\r\ntransfer-encoding: chunked\r\n\r\n"],
    ["conflicting Content-Length values", "POST / HTTP/1.1\r\ncontent-length: 5\r\ncontent-length: 6\r\n\r\n"],
    ["a non-numeric Content-Length", "POST / HTTP/1.1\r\ncontent-length: +5\r\n\r\n"],
    ["a Transfer-Encoding other than chunked", "POST / HTTP/1.1\r\ntransfer-encoding: gzip\r\n\r\n"],
    ["chunked not last", "POST / HTTP/1.1\r\ntransfer-encoding: chunked, gzip\r\n\r\n"],
    ["obs-fold", "GET / HTTP/1.1\r\nx-a: 1\r\n  folded\r\n\r\n"],
    ["a bare LF", "GET / HTTP/1.1\nhost: x\r\n\r\n"],
    ["a NUL byte in a value", "GET / HTTP/1.1\r\nx-a: a\u0000b\r\n\r\n"],
    ["a space before the colon", "GET / HTTP/1.1\r\nhost : x\r\n\r\n"],
    ["a header without a colon", "GET / HTTP/1.1\r\nhost\r\n\r\n"],
    ["a control character in a value", "GET / HTTP/1.1\r\nx-a: a\u0001b\r\n\r\n"],
    ["HTTP/2.0 in the request line", "GET / HTTP/2.0\r\n\r\n"],
    ["a space in the target", "GET /a b HTTP/1.1\r\n\r\n"],
    ["a bad method", "G(T / HTTP/1.1\r\n\r\n"],
    ["a missing version", "GET /\r\n\r\n"],
  ];
  for (const [what, wire] of refused) {
    it(`refuses ${what}`, () => assert.equal(parseRequestHead(b(wire), LIMIT).kind, "error"));
  }

  it("is incomplete, at every cut, before refusing a head for its Host or codings", () => {
    const wire = b("POST http://a/ HTTP/1.1\r\nhost: a\r\nhost: b\r\ntransfer-encoding: gzip, chunked\r\n\r\n");
    for (let i = 0; i < wire.length; i++) assert.equal(parseRequestHead(wire.subarray(0, i), LIMIT).kind, "incomplete", `cut at ${i}`);
  });

  it("refuses a head over the size limit, complete or not", () => {
    const big = `GET / HTTP/1.1\r\nx-big: ${"a".repeat(LIMIT)}\r\n`;
    assert.deepEqual(parseRequestHead(b(big), LIMIT), { kind: "error", reason: "header-overflow" });
    assert.deepEqual(parseRequestHead(b(`${big}\r\n`), LIMIT), { kind: "error", reason: "header-overflow" });
  });
});

describe("HTTP/1.1 framer: response heads", () => {
  it("frames a response by Content-Length, chunked, or to close; HEAD, 204 and 304 have no body", () => {
    const framing = (s: string, method = "GET") => {
      const r = parseResponseHead(b(s), LIMIT, method);
      return r.kind === "head" ? r.head.framing.kind : r.kind;
    };
    assert.equal(framing("HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n"), "length");
    assert.equal(framing("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"), "chunked");
    assert.equal(framing("HTTP/1.1 200 OK\r\n\r\n"), "close");
    assert.equal(framing("HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n", "HEAD"), "none");
    assert.equal(framing("HTTP/1.1 204 No Content\r\n\r\n"), "none");
    assert.equal(framing("HTTP/1.1 304 Not Modified\r\ncontent-length: 5\r\n\r\n"), "none");
    assert.equal(framing("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\ncontent-length: 5\r\n\r\n"), "error");
    assert.equal(framing("HTTP/1.1 20 OK\r\n\r\n"), "error");
  });

  it("refuses a response with any transfer coding but a single chunked, unless it has no body", () => {
    const parsed = (s: string, method = "GET") => {
      const r = parseResponseHead(b(s), LIMIT, method);
      return r.kind === "head" ? r.head.framing.kind : r;
    };
    assert.deepEqual(parsed("HTTP/1.1 200 OK\r\ntransfer-encoding: gzip, chunked\r\n\r\n"), { kind: "error", reason: "unsupported-transfer-encoding" });
    assert.deepEqual(parsed("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked, chunked\r\n\r\n"), { kind: "error", reason: "unsupported-transfer-encoding" });
    assert.deepEqual(parsed("HTTP/1.1 200 OK\r\ntransfer-encoding: gzip\r\n\r\n"), { kind: "error", reason: "chunked-not-final" });
    assert.deepEqual(parsed("HTTP/1.1 200 OK\r\ntransfer-encoding: identity\r\n\r\n"), { kind: "error", reason: "chunked-not-final" });
    assert.equal(parsed("HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n"), "chunked");
    assert.equal(parsed("HTTP/1.1 200 OK\r\ntransfer-encoding: gzip, chunked\r\n\r\n", "HEAD"), "none");
    assert.equal(parsed("HTTP/1.1 304 Not Modified\r\ntransfer-encoding: gzip\r\n\r\n"), "none");
  });

  it("relays agreeing Content-Length values as one, and refuses ones that disagree", () => {
    const head = (s: string, method = "GET") => {
      const r = parseResponseHead(b(s), LIMIT, method);
      return r.kind === "head" ? { cl: r.head.headers["content-length"], framing: r.head.framing } : r;
    };
    assert.deepEqual(head("HTTP/1.1 200 OK\r\ncontent-length: 5\r\ncontent-length: 5\r\n\r\n"), { cl: "5", framing: { kind: "length", length: 5 } });
    assert.deepEqual(head("HTTP/1.1 200 OK\r\ncontent-length: 5, 5\r\n\r\n"), { cl: "5", framing: { kind: "length", length: 5 } });
    assert.deepEqual(head("HTTP/1.1 200 OK\r\ncontent-length: 7,7\r\n\r\n", "HEAD"), { cl: "7", framing: { kind: "none" } });
    assert.deepEqual(head("HTTP/1.1 200 OK\r\ncontent-length: 5\r\ncontent-length: 6\r\n\r\n"), { kind: "error", reason: "bad-content-length" });
  });

  it("keeps a connection only when the response says so and is not close-delimited", () => {
    const keep = (s: string) => {
      const r = parseResponseHead(b(s), LIMIT, "GET");
      return r.kind === "head" ? r.head.keepAlive : undefined;
    };
    assert.equal(keep("HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"), true);
    assert.equal(keep("HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"), false);
    assert.equal(keep("HTTP/1.1 200 OK\r\n\r\n"), false);
    assert.equal(keep("HTTP/1.0 200 OK\r\ncontent-length: 0\r\n\r\n"), false);
    assert.equal(keep("HTTP/1.1 200\r\ncontent-length: 0\r\n\r\n"), true);
  });

  it("reads fields named like Object.prototype's members as plain fields", () => {
    const r = parseResponseHead(b("HTTP/1.1 200 OK\r\nConstructor: a\r\n__proto__: b\r\ntoString: c\r\ncontent-length: 0\r\n\r\n"), LIMIT, "GET");
    assert.equal(r.kind, "head");
    if (r.kind !== "head") return;
    assert.equal(r.head.headers["constructor"], "a");
    assert.equal(r.head.headers["__proto__"], "b");
    assert.equal(r.head.headers["tostring"], "c");
    assert.equal(headerLines(r.head.headers, new Set(["content-length"])), "constructor: a\r\n__proto__: b\r\ntostring: c\r\n");
  });
});

describe("HTTP/1.1 framer: bodies", () => {
  it("cuts a Content-Length body and leaves the next message's bytes, at every cut", () => {
    for (const pieces of splits(b("hello worldGET /"))) {
      assert.deepEqual(readBody({ kind: "length", length: 11 }, pieces), { body: "hello world", done: true, trailers: undefined, rest: "GET /" });
    }
  });

  it("hands out slices of the input, never copies", () => {
    const wire = b("abcdef");
    const reader = new BodyReader({ kind: "length", length: 4 });
    const seen: Buffer[] = [];
    reader.push(wire, (c) => seen.push(c));
    assert.equal(seen[0]?.buffer, wire.buffer);
  });

  it("decodes chunked with extensions and trailers, at every cut", () => {
    const wire = b("5;name=value\r\nhello\r\n6 ; x\r\n world\r\n0\r\nx-sum: 1\r\nX-Other: 2\r\n\r\nNEXT");
    for (const pieces of splits(wire)) {
      assert.deepEqual(readBody({ kind: "chunked" }, pieces), { body: "hello world", done: true, trailers: { "x-sum": "1", "x-other": "2" }, rest: "NEXT" });
    }
  });

  it("decodes chunked fed one byte at a time", () => {
    const wire = b("a\r\n0123456789\r\nA\r\nabcdefghij\r\n0\r\n\r\n");
    const pieces = [...wire].map((x) => Buffer.from([x]));
    assert.deepEqual(readBody({ kind: "chunked" }, pieces), { body: "0123456789abcdefghij", done: true, trailers: undefined, rest: "" });
  });

  const bad: [string, string, string][] = [
    ["a non-hex chunk size", "zz\r\nhello\r\n0\r\n\r\n", "bad-chunk"],
    ["a negative chunk size", "-5\r\nhello\r\n0\r\n\r\n", "bad-chunk"],
    ["an empty chunk size", "\r\nhello\r\n0\r\n\r\n", "bad-chunk"],
    ["an oversized chunk size", "fffffffffffffffff\r\n", "bad-chunk"],
    ["data longer than its size", "3\r\nhello\r\n0\r\n\r\n", "bad-chunk"],
    ["a bare LF after the size", "5\nhello\r\n0\r\n\r\n", "bare-lf"],
    ["a bare LF after the data", "5\r\nhello\n0\r\n\r\n", "bare-lf"],
    ["a NUL in an extension", "5;a\u0000\r\nhello\r\n0\r\n\r\n", "nul"],
    ["an obs-folded trailer", "0\r\nx-a: 1\r\n b\r\n\r\n", "obs-fold"],
    ["a size line past the limit", `5;${"e".repeat(2000)}\r\nhello\r\n0\r\n\r\n`, "bad-chunk"],
    ["trailers past the limit", `0\r\n${"x-a: aaaaaaaaaa\r\n".repeat(100)}\r\n`, "trailer-overflow"],
  ];
  for (const [what, wire, reason] of bad) {
    it(`refuses ${what}, at every cut`, () => {
      for (const pieces of splits(b(wire))) assert.equal(readBody({ kind: "chunked" }, pieces).error, reason, `cut at ${pieces[0]?.length}`);
    });
  }

  it("runs a close-delimited body to the end of the stream; other bodies cut short are an error", () => {
    const reader = new BodyReader({ kind: "close" });
    let body = "";
    reader.push(b("abc"), (c) => (body += c.toString()));
    assert.equal(reader.end().done, true);
    assert.equal(body, "abc");
    const short = new BodyReader({ kind: "length", length: 5 });
    short.push(b("abc"), () => {});
    assert.equal(short.end().error, "bad-chunk");
  });
});

describe("HTTP/1.1 framer: writing header lines", () => {
  it("writes headers and refuses CR/LF injection", () => {
    assert.equal(headerLines({ ":status": 200, a: "1", "set-cookie": ["x", "y"], skip: "z" }, new Set(["skip"])), "a: 1\r\nset-cookie: x\r\nset-cookie: y\r\n");
    assert.equal(headerLines({ a: "1\r\nx-injected: 1" }, new Set()), undefined);
    assert.equal(headerLines({ "bad name": "1" }, new Set()), undefined);
  });
});

describe("HTTP/1.1 framer: arbitrary bytes", () => {
  it("never throws on random or mutated input, whatever the framing", () => {
    // Deterministic pseudo-random bytes (xorshift), so a failure reproduces.
    let x = 0x9e3779b9;
    const rnd = (n: number): number => {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      return (x >>> 0) % n;
    };
    const seeds = [
      "POST /p HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n5;e=1\r\nhello\r\n0\r\nx-t: 1\r\n\r\n",
      "HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello",
      "GET / HTTP/1.1\r\n\r\n",
      "POST http://a:1/p?q HTTP/1.1\r\nhost: x\r\ncontent-length: 5, 5\r\ntransfer-encoding: gzip, chunked\r\n\r\nhello",
    ];
    for (let round = 0; round < 3000; round++) {
      const seed = b(seeds[round % seeds.length] as string);
      const buf = round % 4 === 0 ? Buffer.from(Array.from({ length: rnd(200) }, () => rnd(256))) : Buffer.from(seed);
      for (let m = rnd(6); m > 0 && buf.length > 0; m--) buf[rnd(buf.length)] = [0, 10, 13, 32, 58, 59, rnd(256)][rnd(7)] as number;
      const req = parseRequestHead(buf, 256);
      parseResponseHead(buf, 256, round % 2 ? "GET" : "HEAD");
      const at = req.kind === "head" ? req.consumed : 0;
      for (const framing of [{ kind: "chunked" }, { kind: "length", length: rnd(50) }, { kind: "close" }] as Framing[]) {
        const reader = new BodyReader(framing, 64);
        const cut = at + rnd(Math.max(1, buf.length - at));
        const first = reader.push(buf.subarray(at, cut), () => {});
        if (!first.done) reader.push(buf.subarray(cut), () => {});
        reader.end();
      }
    }
  });
});


describe("HTTP/1.1 refusals: what the framed path answers, and what node:http would have taken", () => {
  it("answers coding refusals with 501 or 400 and Host refusals with 400; hands other errors to node:http", () => {
    assert.match(frameRefusal("unsupported-transfer-encoding") ?? "", /^HTTP\/1\.1 501 Not Implemented\r\nconnection: close\r\ncontent-length: 0\r\n\r\n$/);
    for (const reason of ["chunked-not-final", "missing-host", "duplicate-host", "bad-target"] as const) assert.match(frameRefusal(reason) ?? "", /^HTTP\/1\.1 400 Bad Request\r\n/);
    for (const reason of ["bad-header", "header-overflow", "smuggling", "bad-content-length"] as const) assert.equal(frameRefusal(reason), undefined);
  });

  it("finds in node:http's parse the requests the framer refuses", () => {
    assert.equal(fallbackRefusal("/", ["Host", "x", "Transfer-Encoding", "gzip, chunked"]), "unsupported-transfer-encoding");
    assert.equal(fallbackRefusal("/", ["Host", "x", "transfer-encoding", "gzip", "transfer-encoding", "chunked"]), "unsupported-transfer-encoding");
    assert.equal(fallbackRefusal("/", ["Host", "x", "Transfer-Encoding", "identity"]), "chunked-not-final");
    assert.equal(fallbackRefusal("/", ["Host", "x", "HOST", "y"]), "duplicate-host");
    assert.equal(fallbackRefusal("http://u@a/", ["Host", "x"]), "bad-target");
    assert.equal(fallbackRefusal("http://a/", ["Host", "x", "Transfer-Encoding", "chunked"]), undefined);
    assert.equal(fallbackRefusal("/", ["Host", "x", "Content-Length", "3"]), undefined);
  });
});
