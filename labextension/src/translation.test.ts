import { describe, expect, it } from 'vitest';

import { barsOf } from './bars';
import { describeCountdown } from './countdown';
import { chinese } from './fixtures/chinese';
import { job } from './fixtures/jobs';
import { moment, sessionStatus } from './fixtures/session';
import { describeDuration, describeJobs } from './format';
import { IResources } from './types';

describe('the toolbar in Chinese', () => {
  it('translates the words of a duration and keeps its units', () => {
    const trans = chinese();
    expect(describeDuration(null, trans)).toBe('无限制');
    expect(describeDuration(5400, trans)).toBe('1 h 30 min');
  });

  it('reorders the arguments of the jobs badge as the translation says', () => {
    const trans = chinese();
    const one = describeJobs([job()], trans)!;
    expect(one.text).toBe('▶ cnn-cifar10 · 第 3/10 轮');
    const several = describeJobs([job(), job({ name: 'mlp-digits', eta: null, best: '' })], trans)!;
    expect(several.text).toBe('▶ 2 个训练'); // Chinese has one plural form
    expect(several.title.split('\n')).toEqual([
      '后台训练（%train --jobs 列出全部，--attach NAME 跟踪其中一个）：',
      'cnn-cifar10（cuda:0）：第 3/10 轮, val_accuracy 0.8123, 预计还需 11:40',
      'mlp-digits（cuda:0）：第 3/10 轮'
    ]);
  });

  it('words the bars in Chinese with the same numbers', () => {
    const GiB = 2 ** 30;
    const resources: IResources = {
      memory: { totalBytes: 16 * GiB, freeBytes: 12 * GiB },
      disks: [{ filesystem: { label: '/', totalBytes: 100 * GiB, usedBytes: 40 * GiB } }],
      gpus: [
        {
          name: 'NVIDIA T4',
          memoryUsedBytes: 2 * GiB,
          memoryTotalBytes: 15 * GiB,
          gpuUtilization: 0.37,
          memoryUtilization: 0.1
        }
      ],
      kernels: [{ id: 'k1', pid: 42, rssBytes: 512 * 2 ** 20 }],
      cpu: { percent: 12, cores: 8 },
      gpuProblem: null,
      takenAt: 0
    };
    const bars = barsOf(resources, 'k1', chinese());
    expect(bars.map(bar => bar.label)).toEqual(['RAM', '磁盘', 'GPU']);
    expect(bars.map(bar => bar.detail)).toEqual([
      '系统内存：4.00 / 16.0 GiB（本内核：512 MiB）',
      '磁盘（/）：40.0 / 100 GiB',
      'GPU 0 NVIDIA T4：2.00 / 15.0 GiB，利用率 37%'
    ]);
    // the used and total bytes the bars draw do not depend on the language
    expect(bars.map(bar => [bar.used, bar.total])).toEqual([
      [4 * GiB, 16 * GiB],
      [40 * GiB, 100 * GiB],
      [2 * GiB, 15 * GiB]
    ]);
  });

  it('puts the countdown in Chinese, the durations as they are', () => {
    const words = describeCountdown(
      sessionStatus({ extended_seconds: 3600, on_expire: 'shutdown' }),
      moment({ left: 5400 }),
      chinese()
    );
    expect(words.text).toBe('剩余 1:30:00');
    expect(words.title.split('\n')).toEqual([
      '会话时限 12 h，已延长 1 h；到期后关闭内核。点击再延长 1 h。',
      '已空闲 10 min'
    ]);
  });
});
