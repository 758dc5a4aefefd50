/**
 * Which radio "Change runtime type" opens on (no JupyterLab imports: unit-tested by vitest).
 *
 * The dialog must show what the kernel runs on now, so that Save without a click changes nothing.
 */

import { IDevice, INotebookRuntimeMetadata } from './types';

/**
 * The option matching a spec the kernel or server reported, or null. Options are 'auto' and the
 * devices' specs ('cpu', 'cuda:0', 'mps'); a reported 'cuda' (the default GPU) or 'cuda:1,2' (several)
 * is shown as the first GPU it uses.
 */
export function matchOption(spec: string | null | undefined, options: string[]): string | null {
  if (!spec) {
    return null;
  }
  const wanted = spec.trim().toLowerCase();
  if (options.includes(wanted)) {
    return wanted;
  }
  const cuda = /^(?:cuda|gpu)(?::\s*(\d+))?/.exec(wanted);
  if (!cuda) {
    return null;
  }
  const gpus = options.filter(o => o.startsWith('cuda:'));
  if (cuda[1] === undefined) {
    return gpus.length ? gpus[0] : null;
  }
  return options.includes(`cuda:${cuda[1]}`) ? `cuda:${cuda[1]}` : null;
}

/**
 * The device a notebook's saved Colab keys name, or null. The server's from_notebook_metadata
 * decides what the kernel gets; this only picks the radio when the kernel has no selection yet:
 * "None" is the CPU, gpuType "MPS" Apple's GPU, another gpuType the GPU whose name carries it
 * ("A100" in "NVIDIA A100-SXM4-40GB"), else the first GPU.
 */
export function specFromMetadata(saved: INotebookRuntimeMetadata | null, devices: IDevice[]): string | null {
  if (!saved) {
    return null;
  }
  const accelerator = saved.accelerator.toUpperCase();
  if (accelerator === 'NONE') {
    return 'cpu';
  }
  if (accelerator !== 'GPU') {
    return null; // Colab's TPU: nothing local matches
  }
  const gpuType = saved.colab.gpuType.toUpperCase();
  if (gpuType === 'MPS') {
    return devices.some(d => d.kind === 'mps') ? 'mps' : null;
  }
  const gpus = devices.filter(d => d.kind === 'cuda');
  const named = gpuType ? gpus.find(d => d.name.toUpperCase().split(/[\s_-]+/).includes(gpuType)) : undefined;
  return (named || gpus[0])?.spec ?? null;
}

/** The kernel's current selection, else the notebook's saved runtime type, else 'auto'. */
export function preselect(
  options: string[],
  kernelSpec: string | null | undefined,
  saved: INotebookRuntimeMetadata | null,
  devices: IDevice[]
): string {
  return matchOption(kernelSpec, options) ?? matchOption(specFromMetadata(saved, devices), options) ?? 'auto';
}
