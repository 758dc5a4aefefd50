import { describe, expect, it } from 'vitest';

import { matchOption, preselect, specFromMetadata } from './preselect';
import { IDevice } from './types';

const device = (spec: string, kind: IDevice['kind'], name: string): IDevice => ({
  spec, kind, name, memory_total_bytes: null, details: {}
});
const CPU_ONLY = [device('cpu', 'cpu', 'AMD EPYC')];
const TWO_GPUS = [
  device('cpu', 'cpu', 'AMD EPYC'),
  device('cuda:0', 'cuda', 'NVIDIA H100 80GB HBM3'),
  device('cuda:1', 'cuda', 'NVIDIA A100-SXM4-40GB')
];
const options = (devices: IDevice[]) => ['auto', ...devices.map(d => d.spec)];

describe('preselect', () => {
  it('opens on auto for a fresh kernel, not on the first device (the CPU)', () => {
    expect(preselect(options(CPU_ONLY), null, null, CPU_ONLY)).toBe('auto');
    expect(preselect(options(TWO_GPUS), undefined, null, TWO_GPUS)).toBe('auto');
  });

  it("prefers the kernel's selection over the saved metadata", () => {
    const saved = { accelerator: 'None', colab: { gpuType: '' } };
    expect(preselect(options(TWO_GPUS), 'cuda:1', saved, TWO_GPUS)).toBe('cuda:1');
    expect(preselect(options(TWO_GPUS), 'auto', saved, TWO_GPUS)).toBe('auto');
  });

  it('falls back to the saved metadata, then auto', () => {
    const cpu = { accelerator: 'None', colab: { gpuType: '' } };
    expect(preselect(options(TWO_GPUS), null, cpu, TWO_GPUS)).toBe('cpu');
    const tpu = { accelerator: 'TPU', colab: { gpuType: '' } };
    expect(preselect(options(TWO_GPUS), null, tpu, TWO_GPUS)).toBe('auto');
    const gpu = { accelerator: 'GPU', colab: { gpuType: 'T4' } };
    expect(preselect(options(CPU_ONLY), null, gpu, CPU_ONLY)).toBe('auto');
  });
});

describe('matchOption', () => {
  it('shows a spec without an option as the first GPU it uses', () => {
    expect(matchOption('cuda', options(TWO_GPUS))).toBe('cuda:0');
    expect(matchOption('cuda:1,0', options(TWO_GPUS))).toBe('cuda:1');
    expect(matchOption('CPU', options(TWO_GPUS))).toBe('cpu');
    expect(matchOption('cuda:5', options(TWO_GPUS))).toBeNull();
    expect(matchOption('cuda', options(CPU_ONLY))).toBeNull();
    expect(matchOption('', options(CPU_ONLY))).toBeNull();
  });
});

describe('specFromMetadata', () => {
  it("picks the GPU whose name carries Colab's gpuType, else the first GPU", () => {
    expect(specFromMetadata({ accelerator: 'GPU', colab: { gpuType: 'A100' } }, TWO_GPUS)).toBe('cuda:1');
    expect(specFromMetadata({ accelerator: 'GPU', colab: { gpuType: 'T4' } }, TWO_GPUS)).toBe('cuda:0');
    expect(specFromMetadata({ accelerator: 'GPU', colab: { gpuType: 'MPS' } }, TWO_GPUS)).toBeNull();
    expect(specFromMetadata(null, TWO_GPUS)).toBeNull();
  });
});
