import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { binColumns, binEdges, binInThreads, binOf, MISSING_BIN } from "../stages/lib/gbt/binning.js";
import { GbtSession } from "../stages/lib/gbt/session.js";
import { Rng } from "../stages/lib/random.js";

void describe("gbt binning", () => {
  void test("codes: value <= edge[code], NaN in its own bin, at most maxBins bins", () => {
    const rng = new Rng(3);
    const col = new Float64Array(5000);
    for (let i = 0; i < col.length; i++) col[i] = i % 97 === 0 ? NaN : Math.round(rng.normal() * 1000) / 10;
    col[1] = Infinity;
    col[2] = -Infinity;
    for (const maxBins of [2, 16, 255]) {
      const edges = binEdges(col, maxBins);
      assert.ok(edges.length <= maxBins - 1);
      for (let j = 1; j < edges.length; j++) assert.ok(edges[j]! > edges[j - 1]!);
      // every edge itself, its neighbours, and all data values land where binOf puts them
      const probe = Float64Array.from([
        ...col,
        ...edges,
        ...edges.map((e) => e + 1e-9),
        ...edges.map((e) => e - 1e-9),
      ]);
      const codes = binColumns([probe], [edges], probe.length);
      for (let i = 0; i < probe.length; i++) {
        const v = probe[i]!;
        assert.equal(codes[i], binOf(edges, v), `value ${v}`);
        if (Number.isNaN(v)) assert.equal(codes[i], MISSING_BIN);
        else {
          const c = codes[i]!;
          if (c < edges.length) assert.ok(v <= edges[c]!);
          if (c > 0) assert.ok(v > edges[c - 1]!);
        }
      }
    }
  });

  void test("bucketed binning agrees with the binary search on skewed and extreme columns", () => {
    const rng = new Rng(5);
    const n = 20000;
    const columns = [
      Float64Array.from({ length: n }, () => Math.exp(8 * rng.normal())), // spans many decades
      Float64Array.from({ length: n }, () => (rng.uniform() < 0.5 ? -Number.MAX_VALUE : rng.normal())),
      Float64Array.from({ length: n }, (_, i) => (i % 3 === 0 ? 1e300 : i % 3 === 1 ? -1e300 : rng.normal())),
      Float64Array.from({ length: n }, () => Math.round(rng.normal() * 3)),
    ];
    for (const col of columns) {
      const edges = binEdges(col, 255);
      const codes = binColumns([col], [edges], n);
      for (let i = 0; i < n; i++) assert.equal(codes[i], binOf(edges, col[i]!), `value ${col[i]}`);
    }
  });

  void test("binning on the training's threads (WebAssembly) gives binColumns' codes", () => {
    const rng = new Rng(11);
    // More rows than one staging pass holds (2^20), so the second pass and a short last block run.
    const n = (1 << 20) + 70001;
    const columns = [
      Float64Array.from({ length: n }, (_, i) => (i % 101 === 0 ? NaN : Math.exp(6 * rng.normal()))),
      Float64Array.from({ length: n }, (_, i) => (i % 7 === 0 ? -0 : i % 11 === 0 ? Infinity : rng.normal())),
      Float64Array.from({ length: n }, (_, i) => (i % 3 === 0 ? 1e300 : i % 3 === 1 ? -1e300 : rng.normal())),
      Float64Array.from({ length: n }, (_, i) => (i % 2 === 0 ? -Number.MAX_VALUE : Number.MAX_VALUE)),
      Float64Array.from({ length: n }, () => Math.round(rng.normal() * 3)),
      new Float64Array(n).fill(2.5),
    ];
    const edges = columns.map((c, f) => binEdges(c, f === 4 ? 4 : 255));
    const want = binColumns(columns, edges, n);
    for (const threads of [1, 2]) {
      const s = new GbtSession({
        n,
        numFeatures: columns.length,
        histCols: Int32Array.from([0]),
        numBins: Int32Array.from([edges[0]!.length + 1]),
        sampleSize: n,
        subsampled: false,
        minExamples: 1,
        countRows: true,
        l2: 0,
        minChildHessian: 1e-3,
        threads,
      });
      try {
        binInThreads(s, columns, edges, n);
        const got = s.mem.u8(s.codes, columns.length * n);
        for (let f = 0; f < columns.length; f++) {
          const at = got.subarray(f * n, (f + 1) * n);
          const first = at.findIndex((c, i) => c !== want[f * n + i]);
          assert.equal(
            first,
            -1,
            `${threads} thread(s), column ${f}: row ${first}, value ${columns[f]![first]}`,
          );
        }
      } finally {
        s.close();
      }
    }
  });

  void test("few distinct values get one bin each, with edges between them", () => {
    const edges = binEdges(Float64Array.from([3, 1, 2, 2, NaN, 1, 3]), 255);
    assert.deepEqual([...edges], [1.5, 2.5]);
    assert.equal(binEdges(new Float64Array(10).fill(4), 255).length, 0);
  });
});
