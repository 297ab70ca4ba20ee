import { strict as assert } from "node:assert";
import { ServerFirstMemory, SERVER_FIRST_TTL_MS } from "../../sidecar/src/http/server-first-memory.ts";
import { FakeClock } from "../support/fake-clock.ts";

describe("server-first memory (which destinations skip protocol detection)", () => {
  it("remembers nothing it has not learned", () => {
    const memory = new ServerFirstMemory({ clock: new FakeClock() });
    assert.equal(memory.remembers("default/db:3306"), false);
  });

  it("remembers a learned destination, and says only the first learning was new", () => {
    const memory = new ServerFirstMemory({ clock: new FakeClock() });
    assert.equal(memory.learn("default/db:3306"), true);
    assert.equal(memory.learn("default/db:3306"), false);
    assert.equal(memory.remembers("default/db:3306"), true);
    assert.equal(memory.remembers("default/db:3307"), false);
  });

  it("expires an entry ten minutes after it was learned, however often it is used", () => {
    const clock = new FakeClock();
    const memory = new ServerFirstMemory({ clock });
    memory.learn("default/smtp:25");
    for (let i = 0; i < 9; i++) {
      clock.tick(60_000);
      assert.equal(memory.remembers("default/smtp:25"), true, `minute ${i + 1}`);
    }
    clock.tick(SERVER_FIRST_TTL_MS - 9 * 60_000 - 1);
    assert.equal(memory.remembers("default/smtp:25"), true);
    clock.tick(1);
    assert.equal(memory.remembers("default/smtp:25"), false);
    assert.equal(memory.size, 0);
  });

  it("restarts the expiry when a destination is learned again", () => {
    const clock = new FakeClock();
    const memory = new ServerFirstMemory({ clock, ttlMs: 1_000 });
    memory.learn("a:1");
    clock.tick(1_000);
    assert.equal(memory.learn("a:1"), true, "an expired entry is learned anew");
    clock.tick(999);
    assert.equal(memory.remembers("a:1"), true);
  });

  it("forgets a destination at once when told (a connection carried HTTP)", () => {
    const memory = new ServerFirstMemory({ clock: new FakeClock() });
    memory.learn("a:1");
    memory.forget("a:1");
    assert.equal(memory.remembers("a:1"), false);
    memory.forget("never-learned:1");
  });

  it("keeps at most maxEntries, dropping the least recently used", () => {
    const memory = new ServerFirstMemory({ clock: new FakeClock(), maxEntries: 3 });
    memory.learn("a:1");
    memory.learn("b:1");
    memory.learn("c:1");
    assert.equal(memory.remembers("a:1"), true, "a is now the most recently used");
    memory.learn("d:1");
    assert.equal(memory.size, 3);
    assert.equal(memory.remembers("b:1"), false, "b was the least recently used");
    for (const key of ["a:1", "c:1", "d:1"]) assert.equal(memory.remembers(key), true, key);
  });

  it("stays at its bound of 10,000 by default", () => {
    const memory = new ServerFirstMemory({ clock: new FakeClock() });
    for (let i = 0; i < 10_050; i++) memory.learn(`10.0.${i >> 8}.${i & 255}:5432`);
    assert.equal(memory.size, 10_000);
    assert.equal(memory.remembers("10.0.0.0:5432"), false);
    assert.equal(memory.remembers(`10.0.${10_049 >> 8}.${10_049 & 255}:5432`), true);
  });
});
