// Entry point of the dense-network trainer module. The host (stages/lib/mlp/) owns all memory
// layout: this module has no allocator and no static data, so every thread can instantiate it on
// one shared memory.

export { gemm, finishActivation, columnSums } from "./kernels";
export { trainChunk, inferChunk, sumChunkLosses, sumChunkCorrect, transposeKernels } from "./net";
export { sumSquares } from "./optim";
export { stepItem } from "./step";

/** First byte the host may use. */
export function heapBase(): usize {
  return __heap_base;
}
