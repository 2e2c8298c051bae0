/**
 * The part of the ROOT team's `jsroot` package that Quiver uses, typed. jsroot ships no types for
 * its `io`, `tree` and `rntuple` modules; these declarations name only what Quiver calls. Objects
 * that jsroot reads from a file (TTree, TBranch, TLeaf, RNTuple descriptors) are declared
 * `unknown` here and decoded into typed values in one place: `stages/lib/root/objects.ts`.
 */
declare module "jsroot/io" {
  /** jsroot's view of an open ROOT file. */
  export interface JsRootFile {
    readonly fKeys: readonly unknown[];
    readObject(name: string, cycle?: number): Promise<unknown>;
    /** The key (TKey) of an object, following folders in `name`; cycle -1 is the highest. */
    getKey(name: string, cycle: number): Promise<unknown>;
    /** Reads byte ranges given as [pos, len, pos, len, …]; one range gives one DataView. */
    readBuffer(place: number[]): Promise<DataView | DataView[]>;
    delete(): void;
  }

  /** Subclass it to let jsroot read a file through our own handle (`openFile(proxy)`). */
  export class FileProxy {
    openFile(): Promise<boolean>;
    getFileName(): string;
    getFileSize(): number;
    readBuffer(pos: number, len: number): Promise<DataView>;
    closeFile(): void;
  }

  export function openFile(arg: FileProxy): Promise<JsRootFile>;

  /** jsroot's streaming buffer; `classStreamer(obj, "TBasket")` decodes a basket header. */
  export class TBuffer {
    constructor(arr: DataView | null, pos: number, file: JsRootFile | null, length?: number);
    o: number;
    fTagOffset: number;
    mapObject(tag: number, obj: object): void;
    classStreamer(obj: object, classname: string): unknown;
    readBasketEntryOffset(basket: object, offset: number): void;
  }

  /** Decompresses ROOT compression blocks (zlib, LZ4, ZSTD, LZMA); null when it cannot. */
  export function R__unzip(
    arr: DataView,
    tgtsize: number,
    noalert?: boolean,
    src_shift?: number,
  ): Promise<DataView | null>;
}

declare module "jsroot/tree" {
  export class TSelector {
    tgtobj: Record<string, unknown>;
    addBranch(branch: string, name?: string): number;
    Begin(tree: unknown): void;
    Process(entry: number): void;
    Terminate(ok: boolean): void;
  }
  /** jsroot's own entry-by-entry TTree reader (tests use it as an independent reference). */
  export function treeProcess(tree: unknown, selector: TSelector, args?: object): Promise<TSelector>;
}

declare module "jsroot/rntuple" {
  import type { TSelector } from "jsroot/tree";
  /** Reads an RNTuple's header and footer: fields, columns, clusters, page locations. */
  export function readHeaderFooter(tuple: unknown): Promise<unknown>;
  /** Reads the selected top-level fields entry by entry into `selector.tgtobj`. */
  export function rntupleProcess(tuple: unknown, selector: TSelector, args?: object): Promise<TSelector>;
}
