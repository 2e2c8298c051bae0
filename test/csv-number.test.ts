/**
 * The CSV number parser must give exactly what `Number(text)` gives, bit for bit, on every text
 * it accepts: fast-check over random doubles' shortest and 17-digit forms (and other digit counts,
 * signs, leading zeros, exponent spellings), plus the known hard cases of decimal → binary.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { scanNumber, type NumberScan } from "../stages/lib/io/csv-number.js";

const out: NumberScan = { value: 0, isIntLiteral: false };

function assertSame(text: string): void {
  const b = Buffer.from(text, "latin1");
  const stop = scanNumber(b, 0, b.length, out);
  assert.equal(stop, b.length, `"${text}" read to its end`);
  assert.ok(
    Object.is(out.value, Number(text)),
    `"${text}": got ${out.value}, Number() gives ${Number(text)}`,
  );
}

/** The forms a double takes in CSV files: shortest, 17 and 16 digits, exponent spellings. */
function forms(x: number): string[] {
  const e17 = x.toExponential(16);
  return [
    String(x),
    x.toPrecision(17),
    x.toPrecision(16),
    x.toPrecision(15),
    e17,
    e17.replace("e+", "E"),
    e17.replace(/e([+-])(\d)$/, "e$10$2"),
    x.toExponential(18),
  ];
}

void test("random doubles in every written form parse as Number() parses them", () => {
  fc.assert(
    fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (x) => {
      for (const f of forms(x)) assertSame(f);
    }),
    { numRuns: 20000 },
  );
});

void test("doubles of physics magnitudes (1e-20 … 1e20) in shortest and 17-digit form", () => {
  fc.assert(
    fc.property(
      fc.double({ min: 0, max: 1, noNaN: true }),
      fc.integer({ min: -20, max: 20 }),
      fc.boolean(),
      (u, e, neg) => {
        const x = (neg ? -1 : 1) * u * 10 ** e;
        for (const f of forms(x)) assertSame(f);
        assertSame(x.toFixed(Math.max(0, Math.min(100, 17 - e))));
      },
    ),
    { numRuns: 20000 },
  );
});

void test("random digit strings: any length, leading zeros, point anywhere, any exponent", () => {
  fc.assert(
    fc.property(
      fc.constantFrom("", "-", "+"),
      fc.stringMatching(/^0{0,4}$/),
      fc.stringMatching(/^[0-9]{1,25}$/),
      fc.integer({ min: 0, max: 26 }),
      fc.option(fc.integer({ min: -400, max: 400 })),
      (sign, zeros, digits, point, exp) => {
        const p = Math.min(point, digits.length);
        const body = zeros + digits.slice(0, p) + (p < digits.length ? "." + digits.slice(p) : "");
        assertSame(sign + body + (exp === null ? "" : `e${exp}`));
      },
    ),
    { numRuns: 20000 },
  );
});

void test("edge cases: subnormals, the largest doubles, ties, long mantissas, zeros", () => {
  for (const text of [
    "0",
    "-0",
    "0.000",
    "-0.0e10",
    "0e-400",
    "00000123.4500",
    "+1.5",
    "5e-324",
    "4.9e-324",
    "2.4703282292062327e-324",
    "2.4703282292062328e-324",
    "2.2250738585072011e-308",
    "2.2250738585072014e-308",
    "2.2250738585072012e-308",
    "1e-400",
    "1e308",
    "1.7976931348623157e308",
    "1.7976931348623158e308",
    "1.7976931348623159e308",
    "1e309",
    "8.98846567431158e307",
    "9007199254740992",
    "9007199254740993",
    "9007199254740993.0000000001",
    "9007199254740995",
    "18446744073709551615",
    "18446744073709551616",
    "123456789012345678901234567890",
    "1.00000000000000011102230246251565404236316680908203125",
    "1.00000000000000011102230246251565404236316680908203124",
    "1.00000000000000011102230246251565404236316680908203126",
    "0.1",
    "0.30000000000000004",
    "1e22",
    "1e23",
    "9.999999999999999e22",
    "7.2057594037927933e16",
    "1e-22",
    "1e-23",
    "3.0e-250",
    "3.0e-251",
    "1e280",
    "1e281",
    "6.631236846766476e-316",
  ])
    assertSame(text);
});
