/** Data sets for runs, each loaded once per process (runs of one comparison share theirs). */
import type { DatasetPair } from '../data/dataset.js';
import { loadDataset } from '../data/registry.js';

const datasets = new Map<string, Promise<DatasetPair>>();

/** Loads a data set once per process. */
export function getData(spec: string): Promise<DatasetPair> {
  let p = datasets.get(spec);
  if (!p) {
    p = loadDataset(spec);
    datasets.set(spec, p);
  }
  return p;
}
