/**
 * The records of a run: its resolved settings as `config.json` holds them ({@link RunConfig}) and
 * what its result depends on ({@link RunIdentity}). The run
 * layer writes them, the dashboard and the cache read them, so like `metrics.ts` they sit on the
 * ground floor: this file imports only its neighbour `compute.ts`, and every layer above may
 * import it.
 *
 * The few types of other layers a config records (the model's options, the scenario) are spelled
 * out here as the file holds them; `src/run/rundir.ts` checks
 * at compile time that they are the same types as their owners', so the two cannot drift apart.
 */
import type { ModelMemoryFormat, Precision } from './compute.js';

/** A model's options as a run records them (`ModelOptions` of src/models/registry.ts). */
export interface RunModelOptions {
  /** Input channels (1 for MNIST-like data, 3 for CIFAR). Default 3. */
  inChannels?: number;
  /** Output classes. Default 10. */
  numClasses?: number;
  /** For ResNet-18/34/50: a 3×3 stride-1 stem without max-pool, for 32×32 inputs. Default false. */
  cifar?: boolean;
}

/** The scenario a run was made under (`ScenarioRecord` of src/run/scenarios.ts). */
export interface RunScenario {
  name: string;
  settings: {
    /** Data set spec, e.g. `fashion-mnist,subset=5000`. */
    data: string;
    model: string;
    /** Model options beyond the data set's channels and classes (e.g. `{ cifar: true }`). */
    modelOptions?: { cifar?: boolean };
    /** The original's (and so the retrain oracle's) recipe, over the training defaults. */
    train: Record<string, unknown>;
    /** Forget spec. */
    forget: string;
    /** The memorization an original must reach for the scenario's story to hold. */
    memorization?: { minTrainAccuracy: number; minGap: number };
  };
}

/** The resolved settings of a run, as written to `config.json`. */
export interface RunConfig {
  command: 'train' | 'unlearn';
  method: string;
  data: string;
  model: string;
  modelOptions: RunModelOptions;
  /** Forget spec (`class:3`, `random:0.1`, `indices:<file>`); 'none' for training runs. */
  forget: string;
  seed: number;
  device: string;
  /** `fp32`, `bf16-mixed` or `fp16-mixed` (absent in runs made before Lethe recorded it: fp32). */
  precision?: Precision;
  /** Layout of images and conv weights while training (absent in older runs). */
  memoryFormat?: ModelMemoryFormat;
  threads: number;
  /** The method's (or training recipe's) resolved options. */
  options: Record<string, unknown>;
  /** The run directory of the model this run started from. */
  from?: string;
  /** The scenario the run was made under (`--scenario`): its name and settings. */
  scenario?: RunScenario;
  createdAt: string;
  /**
   * What ran it: Lethe's version and the digest of its code (`sourceDigest` of
   * src/util/version.ts; absent in runs made before Lethe recorded it), libtorch's and Node's
   * versions.
   */
  versions: { lethe: string; source?: string; libtorch: string; node: string };
}

/**
 * Everything that determined a run's result: two runs are the same run when their identities are
 * equal (the one rule, `identityDifferences` of src/run/identity.ts). Resuming a checkpoint,
 * reusing a cached run and accepting a finished run into a comparison all compare identities; the
 * cache files a run under the identity's key.
 */
export interface RunIdentity {
  /** The method's id; `train` for an original. */
  method: string;
  data: string;
  model: string;
  modelOptions: RunModelOptions;
  /** The forget spec; `none` for an original. */
  forget: string;
  /** The forget set's indices as `sha256:<hex>` (an `indices:<file>` spec's file may change). */
  forgetDigest: string;
  seed: number;
  /** The method's (or training recipe's) resolved options. */
  options: Record<string, unknown>;
  precision: Precision;
  memoryFormat: ModelMemoryFormat;
  /** `cpu` or `cuda`: kernels differ between kinds, not between two GPUs of one machine. */
  device: 'cpu' | 'cuda';
  /** An unlearning run's original: its identity's key. */
  original?: string;
  /** Lethe's version, the digest of its code and libtorch's version. */
  lethe: string;
  source: string;
  libtorch: string;
}
