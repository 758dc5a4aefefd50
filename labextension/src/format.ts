import type { TranslationBundle } from '@jupyterlab/translation';

import { IJob } from './types';

/**
 * Pure formatting and threshold logic of the toolbar (no JupyterLab code at run time: unit-tested
 * by vitest). Words go through `trans` (the plugin's `translator.load('colabmagic')`); numbers and
 * units stay as they are in every language.
 */

/** How worrying a reading is: drives the bar and countdown colours. */
export type Level = 'ok' | 'warn' | 'critical';

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/**
 * Bytes as %resources and %gpu_info write them (one convention across the project): binary units,
 * three significant digits ("12.7 GiB", "980 MiB"). A machine's 25,276,182,528 bytes of RAM read
 * "23.5 GiB" in the toolbar and in the notebook alike (the toolbar said "25.3 GB").
 */
export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined || !Number.isFinite(bytes) || bytes < 0) {
    return '–';
  }
  let value = bytes;
  let unit = 0;
  // past 999 of a unit, the next one: "0.98 GiB" rather than a four-digit "1000 MiB"
  while (Number(value.toPrecision(3)) >= 1000 && unit < UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  if (unit === 0) {
    return `${Math.round(value)} B`;
  }
  const digits = value >= 100 ? 0 : value >= 10 ? 1 : 2;
  return `${value.toFixed(digits)} ${UNITS[unit]}`;
}

/** "used / total unit" with one unit for both when they share it ("3.20 / 15.6 GiB"). */
export function formatUsage(used: number, total: number): string {
  const u = formatBytes(used);
  const t = formatBytes(total);
  const [uv, uu] = u.split(' ');
  const [tv, tu] = t.split(' ');
  return uu === tu ? `${uv} / ${tv} ${tu}` : `${u} / ${t}`;
}

/** A countdown: "H:MM:SS" from an hour up, "M:SS" below, "0:00" once passed; "–" when unknown. */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) {
    return '–';
  }
  const whole = Math.max(0, Math.floor(seconds));
  const h = Math.floor(whole / 3600);
  const m = Math.floor((whole % 3600) / 60);
  const s = whole % 60;
  const ss = String(s).padStart(2, '0');
  if (h > 0) {
    return `${h}:${String(m).padStart(2, '0')}:${ss}`;
  }
  return `${m}:${ss}`;
}

/** A duration for tooltips: "12 h", "1 h 30 min", "45 min", "20 s"; "no limit" when unknown. */
export function describeDuration(
  seconds: number | null | undefined,
  trans: TranslationBundle
): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) {
    return trans.__('no limit');
  }
  const whole = Math.max(0, Math.round(seconds));
  if (whole < 60) {
    return `${whole} s`;
  }
  const h = Math.floor(whole / 3600);
  const m = Math.floor((whole % 3600) / 60);
  if (h === 0) {
    return `${m} min`;
  }
  return m === 0 ? `${h} h` : `${h} h ${m} min`;
}

/** Share of a bar in [0, 1]; 0 when the total is unknown. */
export function fraction(used: number, total: number): number {
  if (!Number.isFinite(used) || !Number.isFinite(total) || total <= 0) {
    return 0;
  }
  return Math.min(1, Math.max(0, used / total));
}

export interface IUsageThresholds {
  /** fraction of the total from which a bar turns amber */
  warn: number;
  /** fraction of the total from which a bar turns red */
  critical: number;
}

export const DEFAULT_USAGE_THRESHOLDS: IUsageThresholds = { warn: 0.8, critical: 0.95 };

/** The level of a resource bar at `share` (0..1) of its total. */
export function usageLevel(
  share: number,
  thresholds: IUsageThresholds = DEFAULT_USAGE_THRESHOLDS
): Level {
  if (share >= thresholds.critical) {
    return 'critical';
  }
  return share >= thresholds.warn ? 'warn' : 'ok';
}

export interface ICountdownThresholds {
  /** seconds left from which the countdown turns amber */
  warnSeconds: number;
  /** seconds left from which the countdown turns red */
  criticalSeconds: number;
}

export const DEFAULT_COUNTDOWN_THRESHOLDS: ICountdownThresholds = {
  warnSeconds: 30 * 60,
  criticalSeconds: 5 * 60
};

/** The level of the session countdown; no limit (null) is always ok, a passed limit critical. */
export function countdownLevel(
  secondsLeft: number | null | undefined,
  thresholds: ICountdownThresholds = DEFAULT_COUNTDOWN_THRESHOLDS
): Level {
  if (secondsLeft === null || secondsLeft === undefined || !Number.isFinite(secondsLeft)) {
    return 'ok';
  }
  if (secondsLeft <= thresholds.criticalSeconds) {
    return 'critical';
  }
  return secondsLeft <= thresholds.warnSeconds ? 'warn' : 'ok';
}

/**
 * Seconds left now, from the server's answer taken at `serverNow` (its clock) and received at
 * `receivedAt` (ours, ms): the countdown ticks every second between polls without a request.
 */
export function secondsLeftAt(
  timeLeftSeconds: number | null,
  receivedAtMs: number,
  nowMs: number
): number | null {
  if (timeLeftSeconds === null) {
    return null;
  }
  return timeLeftSeconds - Math.max(0, nowMs - receivedAtMs) / 1000;
}

/** Colab's notebook metadata for a device: {accelerator: "GPU" | "None", colab: {gpuType}}. */
export function acceleratorLabel(metadata: {
  accelerator?: string;
  colab?: { gpuType?: string };
}): string {
  if (!metadata || !metadata.accelerator || metadata.accelerator === 'None') {
    return 'CPU';
  }
  const type = metadata.colab && metadata.colab.gpuType;
  return type ? `${metadata.accelerator} (${type})` : metadata.accelerator;
}

/** The badge's text and tooltip for the running runs; null when none runs (the badge hides). */
export function describeJobs(
  jobs: IJob[],
  trans: TranslationBundle
): { text: string; title: string } | null {
  if (jobs.length === 0) {
    return null;
  }
  const progress = (job: IJob) =>
    job.epochs > 0 ? trans.__('epoch %1/%2', job.epoch, job.epochs) : job.state;
  const text =
    jobs.length === 1
      ? `▶ ${jobs[0].name} · ${progress(jobs[0])}`
      : `▶ ${trans._n('%1 run', '%1 runs', jobs.length)}`;
  const lines = jobs.map(job => {
    const details = [progress(job)];
    if (job.best) {
      details.push(job.best);
    }
    if (job.eta !== null) {
      details.push(trans.__('ETA %1', formatDuration(job.eta)));
    }
    return trans.__('%1: %2 on %3', job.name, details.join(', '), job.device);
  });
  const title = [
    trans.__('Background training (%train --jobs lists them, --attach NAME follows one):'),
    ...lines
  ].join('\n');
  return { text, title };
}
