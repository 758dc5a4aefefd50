import { nullTranslator } from '@jupyterlab/translation';
import { describe, expect, it } from 'vitest';

import { job } from './fixtures/jobs';
import { describeJobs } from './format';

const trans = nullTranslator.load('colabmagic');

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
