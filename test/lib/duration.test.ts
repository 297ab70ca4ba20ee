import assert from "node:assert/strict";
import { MAX_TIMER_MS, parseDuration } from "../../lib/duration.ts";

function ms(text: string, limits?: Parameters<typeof parseDuration>[1]): number | string {
  const result = parseDuration(text, limits);
  return result.ok ? result.value : result.code;
}

describe("durations a user writes", () => {
  it("reads each unit, fractions and Go's number forms", () => {
    assert.deepEqual(["500ms", "30s", "15m", "24h", "365d", "1.5s", "1.5h", ".5s", "1.s", "0.25ms"].map((t) => ms(t)), [
      500, 30_000, 900_000, 86_400_000, 31_536_000_000, 1_500, 5_400_000, 500, 1_000, "duration-out-of-range",
    ]);
  });

  it("sums compound durations, in any order, as Go does", () => {
    assert.equal(ms("1h30m"), 5_400_000);
    assert.equal(ms("2h45m30s500ms"), 9_930_500);
    assert.equal(ms("1d12h"), 129_600_000);
    assert.equal(ms("30m1h"), 5_400_000);
    assert.equal(ms("1m1m"), 120_000);
  });

  it("rounds to whole milliseconds", () => {
    assert.equal(ms("1.005s"), 1_005);
    assert.equal(ms("1.4ms"), 1);
    assert.equal(ms("0.1s"), 100);
  });

  it("refuses zero unless the setting allows it, where a bare 0 needs no unit", () => {
    for (const zero of ["0", "0s", "0ms", "0h0m"]) {
      assert.equal(ms(zero), "duration-out-of-range", zero);
      assert.equal(ms(zero, { allowZero: true }), 0, zero);
    }
    assert.equal(ms("0.4ms", { allowZero: true }), 0);
  });

  it("refuses a number without a unit, an unknown unit and a unit without a number", () => {
    for (const text of ["5000", "1.5", "00", "5sec", "1H", "10S", "1us", "100ns", "1w", "1y", "h", "ms", "1h30", "1constructor", "1toString", "5 s"]) {
      assert.equal(ms(text), "bad-duration", text);
    }
    const unknown = parseDuration("5sec");
    assert.ok(!unknown.ok);
    assert.match(unknown.message, /unknown unit "sec"/);
    const unitless = parseDuration("5000");
    assert.ok(!unitless.ok);
    assert.match(unitless.message, /needs a unit/);
  });

  it("refuses negative, signed, empty and malformed durations", () => {
    for (const text of ["-5s", "-0", "+5s", "", "   ", ".s", "1..5s", "1.5.5s", "1e3ms", "0x10s", "5s!", "∞s"]) {
      assert.equal(ms(text), "bad-duration", JSON.stringify(text));
    }
    const negative = parseDuration("-5s");
    assert.ok(!negative.ok);
    assert.match(negative.message, /negative/);
  });

  it("trims surrounding whitespace but refuses whitespace inside", () => {
    assert.equal(ms("  30s\n"), 30_000);
    assert.equal(ms("\t0 ", { allowZero: true }), 0);
    assert.equal(ms("1h 30m"), "bad-duration");
    assert.equal(ms("30 s"), "bad-duration");
  });

  it("refuses what overflows exact milliseconds, and what passes the setting's maximum", () => {
    assert.equal(ms(`${"9".repeat(400)}h`), "duration-out-of-range");
    assert.equal(ms("200000000000d"), "duration-out-of-range");
    assert.equal(ms("104249991d"), 9_007_199_222_400_000);
    assert.equal(ms("4294967295ms", { maxMs: 0xffffffff }), 0xffffffff);
    assert.equal(ms("4294967296ms", { maxMs: 0xffffffff }), "duration-out-of-range");
    assert.equal(ms("24d20h31m23.647s", { maxMs: MAX_TIMER_MS }), MAX_TIMER_MS);
    assert.equal(ms("25d", { maxMs: MAX_TIMER_MS }), "duration-out-of-range");
  });
});
