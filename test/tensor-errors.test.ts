/**
 * Failures are JavaScript errors, never aborts: libtorch's own checks surface as TorchError
 * naming the ATen operator with libtorch's message (no C++ backtrace); bad arguments caught in
 * TypeScript or in the binding surface as TensorArgumentError with exact messages.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  cuda,
  F,
  ones,
  tensor,
  TensorArgumentError,
  tidy,
  TorchError,
  zeros,
} from '../src/tensor/index.js';
import { LetheError } from '../src/util/errors.js';

const long = (...v: number[]): ReturnType<typeof tensor> =>
  tensor(new BigInt64Array(v.map(BigInt)), [v.length]);

/** Runs `fn`, expecting a TorchError with exactly `message`, free of C++ backtraces. */
function torchFails(fn: () => unknown, message: string | RegExp): void {
  tidy(() => {
    assert.throws(fn, (error: unknown) => {
      assert.ok(error instanceof TorchError, `expected TorchError, got ${String(error)}`);
      assert.ok(error instanceof LetheError);
      assert.equal(error.code, 'E_TORCH');
      assert.equal(error.name, 'TorchError');
      if (typeof message === 'string') assert.equal(error.message, message);
      else assert.match(error.message, message);
      assert.doesNotMatch(error.message, /frame #|Exception raised from/);
      return true;
    });
  });
}

function argumentFails(fn: () => unknown, message: string): void {
  tidy(() => {
    assert.throws(fn, (error: unknown) => {
      assert.ok(
        error instanceof TensorArgumentError,
        `expected TensorArgumentError, got ${String(error)}`,
      );
      assert.equal(error.code, 'E_TENSOR_ARGUMENT');
      assert.equal(error.message, message);
      return true;
    });
  });
}

test('libtorch failures are TorchErrors naming the op, with libtorch message and no backtrace', () => {
  torchFails(
    () => ones([3, 2]).indexSelect(0, long(5)),
    'aten::index_select: index out of range in self',
  );
  torchFails(
    () => F.conv2d(ones([1, 3, 5, 5]), ones([2, 4, 3, 3])),
    'aten::conv2d: Given groups=1, weight of size [2, 4, 3, 3], expected input[1, 3, 5, 5] to have 4 channels, but got 3 channels instead',
  );
  torchFails(
    () => ones([2, 3]).matmul(ones([2, 3])),
    'aten::matmul: mat1 and mat2 shapes cannot be multiplied (2x3 and 2x3)',
  );
  torchFails(
    () => ones([6]).reshape(4, 2),
    "aten::reshape: shape '[4, 2]' is invalid for input of size 6",
  );
  torchFails(
    () => F.crossEntropy(ones([2, 3]), long(0, 7)),
    'aten::cross_entropy_loss: Target 7 is out of bounds.',
  );
  torchFails(
    () => ones([2, 2]).gather(1, tensor(new BigInt64Array([0n, 9n]), [2, 1])),
    'aten::gather: index 9 is out of bounds for dimension 1 with size 2',
  );
  torchFails(
    () => ones([2]).softmax(3),
    'aten::softmax.int: Dimension out of range (expected to be in range of [-1, 0], but got 3)',
  );
  torchFails(
    () => ones([2, 3]).add_(ones([4])),
    /^aten::add_\.Tensor: The size of tensor a \(3\) must match/,
  );
  torchFails(
    () => ones([2]).backward(),
    'backward: element 0 of tensors does not require grad and does not have a grad_fn',
  );
});

test(
  "to('cuda') without CUDA throws a TorchError instead of aborting",
  { skip: cuda.isAvailable() },
  () => {
    torchFails(() => ones([2]).to('cuda'), /^aten::to\.device: /);
    // The dispatcher's message lists the backends that have kernels, as PyTorch prints it.
    torchFails(
      () => zeros([2], { device: 'cuda:0' }),
      /^aten::zeros: Could not run 'aten::empty.memory_format' with arguments from the 'CUDA' backend/,
    );
  },
);

test('wrong arguments get exact messages', () => {
  argumentFails(
    () => tensor([1, 2, 3], [2, 2]),
    'tensor(): data has 3 elements but shape [2,2] needs 4',
  );
  argumentFails(
    () => tensor([1, 2], [-1, -2]),
    'tensor(): expected non-negative integer sizes but received shape [-1,-2]',
  );
  argumentFails(
    () => tensor([1, 2], [2], { dtype: 'float8' as never }),
    'Expected a dtype (uint8, int32, int64, float16, float32, float64, bool, bfloat16) but received float8',
  );
  argumentFails(
    () => zeros([2], { dtype: 'complex' as never }),
    'Expected a dtype (uint8, int32, int64, float16, float32, float64, bool, bfloat16) but received complex',
  );
  argumentFails(
    () => tensor([1, 2], [2], { dtype: 'float16' }),
    'tensor(): creating float16 tensors from data is not supported',
  );
  argumentFails(
    () => ones([2]).to('gpu'),
    "Expected a device 'cpu', 'cuda' or 'cuda:<n>' but received 'gpu'",
  );
  argumentFails(
    () => ones([2], { device: 'cuda:x' }),
    "Expected a device 'cpu', 'cuda' or 'cuda:<n>' but received 'cuda:x'",
  );
  argumentFails(
    () => ones([2]).item(),
    'item(): expected a tensor with one element but shape is [2]',
  );
  argumentFails(
    () => ones([2, 3]).item(),
    'item(): expected a tensor with one element but shape is [2,3]',
  );
  argumentFails(() => zeros([1.5]), 'Expected integer sizes but received [1.5]');
  argumentFails(() => ones([2]).size(3), 'size(3): tensor has 1 dimensions');
  argumentFails(
    () => F.conv2d(ones([3, 3]), ones([1, 1, 1, 1])),
    'conv2d: expected input of shape [N, C, H, W] but received [3,3]',
  );
  argumentFails(() => F.dropout(ones([2]), 2), 'dropout: expected p in [0, 1] but received 2');
  argumentFails(
    () => F.mseLoss(ones([2]), ones([2]), 'avg' as never),
    "Expected reduction 'none', 'mean' or 'sum' but received 'avg'",
  );
  // Checked by the binding against the operator's schema.
  argumentFails(
    () => ones([2]).sum('x' as never),
    "aten::sum.dim_IntList: argument 'dim' expects an int array",
  );
  argumentFails(
    () => ones([2]).clamp('a' as never),
    "aten::clamp: argument 'min' expects a number",
  );
});

test('after all these failures the engine still computes', () => {
  const v = tidy(() =>
    ones([2, 2])
      .matmul(ones([2, 2]))
      .sum()
      .item(),
  );
  assert.equal(v, 8);
});
