import { nullTranslator } from '@jupyterlab/translation';
import { describe, expect, it } from 'vitest';

import {
  acceleratorLabel,
  countdownLevel,
  describeDuration,
  formatBytes,
  formatDuration,
  formatUsage,
  fraction,
  secondsLeftAt,
  usageLevel
} from './format';

const trans = nullTranslator.load('colabmagic');

describe('formatBytes', () => {
  it('uses binary units with three significant digits, as %resources does', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(999)).toBe('999 B');
    expect(formatBytes(1024)).toBe('1.00 KiB');
    expect(formatBytes(12.7 * 2 ** 30)).toBe('12.7 GiB');
    expect(formatBytes(980 * 2 ** 20)).toBe('980 MiB');
    expect(formatBytes(140 * 2 ** 30)).toBe('140 GiB');
    expect(formatBytes(25_276_182_528)).toBe('23.5 GiB'); // this machine's RAM: what %resources says
  });

  it('carries past 999 of a unit instead of printing four digits', () => {
    expect(formatBytes(1000)).toBe('0.98 KiB');
    expect(formatBytes(999.6 * 2 ** 20)).toBe('0.98 GiB');
  });

  it('prints a dash for what is unknown or impossible', () => {
    expect(formatBytes(null)).toBe('–');
    expect(formatBytes(undefined)).toBe('–');
    expect(formatBytes(-1)).toBe('–');
    expect(formatBytes(NaN)).toBe('–');
  });
});

describe('formatUsage', () => {
  it('writes the unit once when both share it', () => {
    expect(formatUsage(3.2 * 2 ** 30, 15.6 * 2 ** 30)).toBe('3.20 / 15.6 GiB');
    expect(formatUsage(512 * 2 ** 20, 15.6 * 2 ** 30)).toBe('512 MiB / 15.6 GiB');
  });
});

describe('durations', () => {
  it('formats a countdown as H:MM:SS or M:SS', () => {
    expect(formatDuration(12 * 3600)).toBe('12:00:00');
    expect(formatDuration(3599)).toBe('59:59');
    expect(formatDuration(61.9)).toBe('1:01');
    expect(formatDuration(5)).toBe('0:05');
    expect(formatDuration(-3)).toBe('0:00');
    expect(formatDuration(null)).toBe('–');
  });

  it('describes durations in words', () => {
    expect(describeDuration(12 * 3600, trans)).toBe('12 h');
    expect(describeDuration(5400, trans)).toBe('1 h 30 min');
    expect(describeDuration(2700, trans)).toBe('45 min');
    expect(describeDuration(20, trans)).toBe('20 s');
    expect(describeDuration(null, trans)).toBe('no limit');
  });

  it('ticks down between polls from the time the answer arrived', () => {
    expect(secondsLeftAt(100, 10_000, 12_500)).toBe(97.5);
    expect(secondsLeftAt(100, 10_000, 9_000)).toBe(100); // a clock step back never adds time
    expect(secondsLeftAt(null, 10_000, 12_500)).toBeNull();
  });
});

describe('thresholds', () => {
  it('colours bars by their share of the total', () => {
    expect(fraction(50, 100)).toBe(0.5);
    expect(fraction(150, 100)).toBe(1);
    expect(fraction(1, 0)).toBe(0);
    expect(usageLevel(0.79)).toBe('ok');
    expect(usageLevel(0.8)).toBe('warn');
    expect(usageLevel(0.95)).toBe('critical');
    expect(usageLevel(0.5, { warn: 0.4, critical: 0.6 })).toBe('warn');
  });

  it('turns the countdown amber, then red, and never for no limit', () => {
    expect(countdownLevel(3600)).toBe('ok');
    expect(countdownLevel(30 * 60)).toBe('warn');
    expect(countdownLevel(5 * 60 + 1)).toBe('warn');
    expect(countdownLevel(5 * 60)).toBe('critical');
    expect(countdownLevel(-10)).toBe('critical');
    expect(countdownLevel(null)).toBe('ok');
    expect(countdownLevel(100, { warnSeconds: 200, criticalSeconds: 50 })).toBe('warn');
  });
});

describe('acceleratorLabel', () => {
  it("reads Colab's notebook metadata", () => {
    expect(acceleratorLabel({ accelerator: 'None', colab: { gpuType: '' } })).toBe('CPU');
    expect(acceleratorLabel({ accelerator: 'GPU', colab: { gpuType: 'T4' } })).toBe('GPU (T4)');
    expect(acceleratorLabel({ accelerator: 'GPU' })).toBe('GPU');
    expect(acceleratorLabel({})).toBe('CPU');
  });
});
