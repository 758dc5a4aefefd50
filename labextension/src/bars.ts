import type { TranslationBundle } from '@jupyterlab/translation';

import { formatBytes, formatUsage } from './format';
import { IResources } from './types';

/**
 * What each toolbar bar shows, from one reading of /colabmagic/api/resources (no JupyterLab code at
 * run time: unit-tested by vitest, in English and in Chinese).
 */

export interface IBarReading {
  /** "ram", "disk" or "gpu0", ... */
  key: string;
  label: string;
  used: number;
  total: number;
  detail: string;
}

/** The bars Colab shows, from one reading: RAM, the first disk, then each GPU's memory. */
export function barsOf(
  resources: IResources,
  kernelId: string | null,
  trans: TranslationBundle
): IBarReading[] {
  const bars: IBarReading[] = [];
  const memUsed = resources.memory.totalBytes - resources.memory.freeBytes;
  const memory = formatUsage(memUsed, resources.memory.totalBytes);
  const kernel = resources.kernels.find(k => k.id === kernelId);
  bars.push({
    key: 'ram',
    label: 'RAM',
    used: memUsed,
    total: resources.memory.totalBytes,
    detail: kernel
      ? trans.__('System RAM: %1 (this kernel: %2)', memory, formatBytes(kernel.rssBytes))
      : trans.__('System RAM: %1', memory)
  });
  const disk = resources.disks[0];
  if (disk) {
    const usage = formatUsage(disk.filesystem.usedBytes, disk.filesystem.totalBytes);
    bars.push({
      key: 'disk',
      label: trans.__('Disk'),
      used: disk.filesystem.usedBytes,
      total: disk.filesystem.totalBytes,
      detail: trans.__('Disk (%1): %2', disk.filesystem.label, usage)
    });
  }
  resources.gpus.forEach((gpu, index) => {
    const usage = formatUsage(gpu.memoryUsedBytes, gpu.memoryTotalBytes);
    const busy = Math.round(gpu.gpuUtilization * 100);
    bars.push({
      key: `gpu${index}`,
      label: resources.gpus.length > 1 ? `GPU${index}` : 'GPU',
      used: gpu.memoryUsedBytes,
      total: gpu.memoryTotalBytes,
      detail: trans.__('GPU %1 %2: %3, %4% busy', index, gpu.name, usage, busy)
    });
  });
  return bars;
}
