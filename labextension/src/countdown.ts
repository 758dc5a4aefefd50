import type { TranslationBundle } from '@jupyterlab/translation';

import { describeDuration, formatDuration } from './format';
import { ISessionStatus } from './types';

/**
 * What the session countdown says for one answer of the server: the button's text and its tooltip
 * (no JupyterLab code at run time: unit-tested by vitest, in English and in Chinese).
 */

export interface ICountdownWords {
  text: string;
  title: string;
}

export interface ICountdownMoment {
  /** seconds left now (the server's answer ticked down locally); null without a limit */
  left: number | null;
  /** seconds since the session started, now; null when unknown */
  up: number | null;
  /** seconds one click adds */
  extendSeconds: number;
  /** the limit a click starts a session with ("12h"; "" = no limit) */
  defaultLimit: string;
}

export function describeCountdown(
  status: ISessionStatus,
  moment: ICountdownMoment,
  trans: TranslationBundle
): ICountdownWords {
  // idle time and Jupyter's own culling, under every tooltip
  const notes: string[] = [];
  if (status.idle_seconds !== null) {
    notes.push(trans.__('Idle for %1', describeDuration(status.idle_seconds, trans)));
  }
  if (status.culling.idle_timeout_seconds) {
    const after = describeDuration(status.culling.idle_timeout_seconds, trans);
    notes.push(
      status.cull_in_seconds !== null
        ? trans.__(
            'Jupyter culls idle kernels after %1 (in %2)',
            after,
            describeDuration(status.cull_in_seconds, trans)
          )
        : trans.__('Jupyter culls idle kernels after %1', after)
    );
  }
  const words = (text: string, first: string) => ({ text, title: [first, ...notes].join('\n') });
  if (!status.started) {
    const limit = moment.defaultLimit;
    return words(
      trans.__('Start session'),
      limit
        ? trans.__(
            'No session clock for this kernel. Click to start one (limit %1), or run %session in the notebook.',
            limit
          )
        : trans.__(
            'No session clock for this kernel. Click to start one (no limit), or run %session in the notebook.'
          )
    );
  }
  const left = moment.left;
  if (left === null) {
    return words(
      trans.__('Session %1', formatDuration(moment.up)),
      trans.__('Session running, no time limit.')
    );
  }
  const shutdown = status.on_expire === 'shutdown';
  if (left <= 0 || status.expired) {
    return words(
      trans.__('Session expired'),
      shutdown
        ? trans.__('The session limit passed: the server shuts this kernel down.')
        : trans.__('The session limit passed. Click to extend.')
    );
  }
  const limit = describeDuration(status.limit_seconds, trans);
  const add = describeDuration(moment.extendSeconds, trans);
  let summary: string;
  if (status.extended_seconds) {
    const extended = describeDuration(status.extended_seconds, trans);
    summary = shutdown
      ? trans.__(
          'Session limit %1 + %2 extended; then the kernel shuts down. Click to add %3.',
          limit,
          extended,
          add
        )
      : trans.__('Session limit %1 + %2 extended; then a warning. Click to add %3.', limit, extended, add);
  } else {
    summary = shutdown
      ? trans.__('Session limit %1; then the kernel shuts down. Click to add %2.', limit, add)
      : trans.__('Session limit %1; then a warning. Click to add %2.', limit, add);
  }
  return words(trans.__('%1 left', formatDuration(left)), summary);
}
