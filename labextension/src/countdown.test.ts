import { nullTranslator } from '@jupyterlab/translation';
import { describe, expect, it } from 'vitest';

import { describeCountdown } from './countdown';
import { moment, sessionStatus } from './fixtures/session';

const trans = nullTranslator.load('colabmagic');

describe('describeCountdown', () => {
  it('offers to start a clock where the kernel has none', () => {
    const words = describeCountdown(sessionStatus({ started: false }), moment({ left: null }), trans);
    expect(words.text).toBe('Start session');
    expect(words.title.split('\n')).toEqual([
      'No session clock for this kernel. Click to start one (limit 12h), or run %session in the notebook.',
      'Idle for 10 min'
    ]);
    const unlimited = describeCountdown(
      sessionStatus({ started: false, idle_seconds: null }),
      moment({ left: null, defaultLimit: '' }),
      trans
    );
    expect(unlimited.title).toBe(
      'No session clock for this kernel. Click to start one (no limit), or run %session in the notebook.'
    );
  });

  it('counts down, says what happens at the end and what a click adds', () => {
    const words = describeCountdown(sessionStatus({ extended_seconds: 3600 }), moment({ left: 5400 }), trans);
    expect(words.text).toBe('1:30:00 left');
    expect(words.title.split('\n')[0]).toBe(
      'Session limit 12 h + 1 h extended; then a warning. Click to add 1 h.'
    );
    const shutdown = describeCountdown(sessionStatus({ on_expire: 'shutdown' }), moment(), trans);
    expect(shutdown.title.split('\n')[0]).toBe(
      'Session limit 12 h; then the kernel shuts down. Click to add 1 h.'
    );
  });

  it('shows the uptime without a limit, and an expired session as such', () => {
    expect(describeCountdown(sessionStatus({ limit_seconds: null }), moment({ left: null, up: 61 }), trans).text)
      .toBe('Session 1:01');
    const expired = describeCountdown(sessionStatus({ expired: true }), moment({ left: 0 }), trans);
    expect(expired.text).toBe('Session expired');
    expect(expired.title.split('\n')[0]).toBe('The session limit passed. Click to extend.');
  });

  it("adds Jupyter's culling under every tooltip", () => {
    const culled = sessionStatus({
      culling: { idle_timeout_seconds: 3600, interval_seconds: 300, cull_connected: false, cull_busy: false },
      cull_in_seconds: 3000
    });
    expect(describeCountdown(culled, moment(), trans).title.split('\n').slice(1)).toEqual([
      'Idle for 10 min',
      'Jupyter culls idle kernels after 1 h (in 50 min)'
    ]);
  });
});
