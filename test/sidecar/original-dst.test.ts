import assert from "node:assert/strict";
import net from "node:net";
import { once } from "node:events";
import { decodeSockaddr, getOriginalDestination, socketFd } from "../../sidecar/src/capture/original-dst.ts";

describe("original destination", () => {
  it("decodes sockaddr_in and sockaddr_in6 as the kernel fills them", () => {
    const v4 = Buffer.alloc(16);
    v4.writeUInt16LE(2, 0);
    v4.writeUInt16BE(8080, 2);
    Buffer.from([10, 250, 0, 2]).copy(v4, 4);
    assert.deepEqual(decodeSockaddr(v4, 16), { ok: true, value: { address: "10.250.0.2", port: 8080 } });

    const v6 = Buffer.alloc(28);
    v6.writeUInt16LE(10, 0);
    v6.writeUInt16BE(443, 2);
    Buffer.from("fd000000000000000000000000000001", "hex").copy(v6, 8);
    assert.deepEqual(decodeSockaddr(v6, 28), { ok: true, value: { address: "fd00::1", port: 443 } });

    assert.equal(decodeSockaddr(Buffer.alloc(28), 28).ok, false);
    assert.equal(decodeSockaddr(v4, 4).ok, false);
  });

  it("finds the descriptor of a connected socket, and reports a direct connection as not redirected", async () => {
    const server = net.createServer();
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const port = (server.address() as net.AddressInfo).port;
    const client = net.connect(port, "127.0.0.1");
    const [accepted] = (await once(server, "connection")) as [net.Socket];
    assert.equal(typeof socketFd(accepted), "number");
    const r = getOriginalDestination(accepted);
    assert.equal(r.ok, false);
    assert.equal(r.ok ? "" : r.code, "not-redirected");
    client.destroy();
    accepted.destroy();
    server.close();
  });

  it("fails as a value for a socket without a descriptor", () => {
    const r = getOriginalDestination(new net.Socket());
    assert.deepEqual(r.ok ? null : r.code, "no-fd");
  });
});
