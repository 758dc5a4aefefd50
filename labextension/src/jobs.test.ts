import { nullTranslator } from '@jupyterlab/translation';
import { describe, expect, it } from 'vitest';

import { describeJobs } from './format';
import { IJob } from './types';

const trans = nullTranslator.load('colabmagic');

const job = (over: Partial<IJob> = {}): IJob => ({
  name: 'cnn-cifar10',
  state: 'running',
  epoch: 3,
  epochs: 10,
  steps: 1200,
  best: 'val_accuracy 0.8123',
  elapsed: 300,
  eta: 700,
  device: 'cuda:0',
  ...over
});

describe('describeJobs', () => {
  it('hides the badge when nothing runs', () => {
    expect(describeJobs([], trans)).toBeNull();
  });

  it('names one run and its epoch, with the details in the tooltip', () => {
    const shown = describeJobs([job()], trans)!;
    expect(shown.text).toBe('▶ cnn-cifar10 · epoch 3/10');
    expect(shown.title).toContain(
      'cnn-cifar10: epoch 3/10, val_accuracy 0.8123, ETA 11:40 on cuda:0'
    );
  });

  it('counts several runs and lists each; a run still planning says so', () => {
    const shown = describeJobs([
      job(),
      job({ name: 'mlp-digits', epochs: 0, epoch: 0, state: 'starting', eta: null, best: '' })
    ], trans)!;
    expect(shown.text).toBe('▶ 2 runs');
    expect(shown.title.split('\n')).toEqual([
      'Background training (%train --jobs lists them, --attach NAME follows one):',
      'cnn-cifar10: epoch 3/10, val_accuracy 0.8123, ETA 11:40 on cuda:0',
      'mlp-digits: starting on cuda:0'
    ]);
  });
});
