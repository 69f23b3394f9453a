/**
 * The engine benchmark's ResNet-20 training step (and inference pass), a few times, for opprof:
 *   OPPROF_OUT=/tmp/lethe.tsv LD_PRELOAD=/tmp/opprof.so \
 *     node --import tsx scripts/opprof/lethe-step.ts bf16-mixed channelsLast [steps]
 */
import { resnet20 } from '../../src/models/index.js';
import { prepareModel, toMemoryFormat, withPrecision } from '../../src/models/precision.js';
import {
  resolveCompute,
  type ModelMemoryFormat,
  type Precision,
} from '../../src/records/compute.js';
import { SGD } from '../../src/optim/index.js';
import { F, keep, manualSeed, noGrad, randint, randn, tidy } from '../../src/tensor/index.js';

const [precision = 'fp32', memoryFormat = 'contiguous', steps = '6'] = process.argv.slice(2);
const compute = resolveCompute({
  device: 'cpu',
  precision: precision as Precision,
  memoryFormat: memoryFormat as ModelMemoryFormat,
});
manualSeed(0);
const model = resnet20({ inChannels: 1, numClasses: 10 });
prepareModel(model, compute);
const opt = new SGD(model.parameters(), { lr: 0.01, momentum: 0.9, weightDecay: 5e-4 });
const x = keep(tidy(() => toMemoryFormat(randn([128, 1, 28, 28]), compute)));
const y = keep(tidy(() => randint(0, 10, [128])));
model.train();
for (let i = 0; i < Number(steps); i++) {
  tidy(() => {
    opt.zeroGrad(true);
    const loss = withPrecision(compute, () => F.crossEntropy(model.forward(x), y));
    loss.backward();
    opt.step();
  });
}
model.eval();
for (let i = 0; i < 3; i++)
  tidy(() => noGrad(() => withPrecision(compute, () => model.forward(x))));
