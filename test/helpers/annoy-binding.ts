import { createRequire } from 'node:module';

/** The npm `annoy` package: the C++ Annoy binding (angular, euclidean, manhattan only). */
export interface BindingIndex {
  addItem(i: number, v: ArrayLike<number>): void;
  build(nTrees?: number): void;
  save(path: string): boolean;
  load(path: string): boolean;
  unload(): void;
  getItem(i: number): number[];
  getNItems(): number;
  getDistance(i: number, j: number): number;
  getNNsByVector(v: ArrayLike<number>, n: number, searchK: number, withDistances: true): { neighbors: number[]; distances: number[] };
  getNNsByVector(v: ArrayLike<number>, n: number, searchK: number, withDistances: false): number[];
  getNNsByItem(i: number, n: number, searchK: number, withDistances: true): { neighbors: number[]; distances: number[] };
}
export type BindingMetric = 'angular' | 'euclidean' | 'manhattan';
type BindingCtor = new (f: number, metric: string) => BindingIndex;

let ctor: BindingCtor | null | undefined;
export let bindingUnavailable = '';

/** Loads the binding once; null (with the reason in `bindingUnavailable`) when it did not compile. */
export function annoyBinding(): ((f: number, metric: BindingMetric) => BindingIndex) | null {
  if (ctor === undefined) {
    try {
      ctor = createRequire(import.meta.url)('annoy') as BindingCtor;
    } catch (e) {
      ctor = null;
      bindingUnavailable = `npm package 'annoy' (C++ binding) unavailable: ${(e as Error).message.split('\n')[0]}`;
    }
  }
  const C = ctor;
  if (!C) return null;
  // The binding spells metrics capitalised and silently falls back to euclidean on anything unknown.
  return (f, metric) => new C(f, metric[0].toUpperCase() + metric.slice(1));
}
