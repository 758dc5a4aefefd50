import { showErrorMessage } from '@jupyterlab/apputils';
import { Poll } from '@lumino/polling';
import { Widget } from '@lumino/widgets';

import { postAPI, requestAPI, ServerExtensionMissing } from './api';
import {
  countdownLevel,
  describeDuration,
  formatDuration,
  ICountdownThresholds,
  secondsLeftAt
} from './format';
import { ISessionStatus } from './types';

export interface ISessionOptions {
  kernelId: () => string | null;
  interval: () => number;
  thresholds: () => ICountdownThresholds;
  /** seconds one click adds */
  extendSeconds: () => number;
  /** the limit a click starts a session with when the kernel has none ("12h"; "" = no limit) */
  defaultLimit: () => string;
  onExpire: () => 'warn' | 'shutdown';
}

/**
 * The session countdown: time left (amber, then red near the end), ticking every second
 * between polls; click to extend (or to start a session when the kernel has none).
 */
export class SessionCountdown extends Widget {
  constructor(options: ISessionOptions) {
    super({ node: document.createElement('button') });
    this._options = options;
    this.addClass('cm-Session');
    this.node.setAttribute('type', 'button');
    this.node.addEventListener('click', this);
    this._poll = new Poll<void, Error>({
      auto: true,
      factory: () => this._refresh(),
      frequency: { interval: options.interval(), backoff: true, max: 60 * 1000 },
      name: 'colabmagic:session',
      standby: 'when-hidden'
    });
    this._tick = window.setInterval(() => {
      if (!document.hidden) {
        this.update();
      }
    }, 1000);
    this.update();
  }

  get status(): ISessionStatus | null {
    return this._status;
  }

  /** How often to ask the server (ms); the settings can change it while it runs. */
  set interval(ms: number) {
    this._poll.frequency = { ...this._poll.frequency, interval: ms };
  }

  /** Poll again now (the kernel changed, or a click changed the session). */
  refresh(): Promise<void> {
    return this._poll.refresh();
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    window.clearInterval(this._tick);
    this._poll.dispose();
    super.dispose();
  }

  handleEvent(event: Event): void {
    if (event.type === 'click') {
      void this._click();
    }
  }

  update(): void {
    const node = this.node;
    const status = this._status;
    delete node.dataset.secondsLeft;
    if (this._problem && !status) {
      node.textContent = this._missing ? 'Session: server extension not enabled' : 'Session: –';
      node.dataset.level = 'ok';
      node.title = this._problem;
      return;
    }
    if (!status) {
      node.textContent = this._options.kernelId() ? 'Session …' : 'No kernel';
      node.dataset.level = 'ok';
      node.title = '';
      return;
    }
    const culling = status.culling.idle_timeout_seconds
      ? `\nJupyter culls idle kernels after ${describeDuration(status.culling.idle_timeout_seconds)}` +
        (status.cull_in_seconds !== null ? ` (in ${describeDuration(status.cull_in_seconds)})` : '')
      : '';
    const idle =
      status.idle_seconds !== null ? `\nIdle for ${describeDuration(status.idle_seconds)}` : '';
    if (!status.started) {
      node.textContent = 'Start session';
      node.dataset.level = 'ok';
      const limit = this._options.defaultLimit();
      node.title =
        `No session clock for this kernel. Click to start one (${limit ? `limit ${limit}` : 'no limit'}), ` +
        'or run %session in the notebook.' + idle + culling;
      return;
    }
    const left = secondsLeftAt(status.time_left_seconds, this._receivedAt, Date.now());
    const level = status.expired ? 'critical' : countdownLevel(left, this._options.thresholds());
    node.dataset.level = level;
    if (left === null) {
      const up = status.started_at !== null ? status.now - status.started_at : null;
      const upNow = up === null ? null : up + (Date.now() - this._receivedAt) / 1000;
      node.textContent = `Session ${formatDuration(upNow)}`;
      node.title = 'Session running, no time limit.' + idle + culling;
      return;
    }
    node.dataset.secondsLeft = String(Math.max(0, Math.floor(left)));
    if (left <= 0 || status.expired) {
      node.textContent = 'Session expired';
      node.title =
        (status.on_expire === 'shutdown'
          ? 'The session limit passed: the server shuts this kernel down.'
          : 'The session limit passed. Click to extend.') + idle + culling;
      return;
    }
    node.textContent = `${formatDuration(left)} left`;
    node.title =
      `Session limit ${describeDuration(status.limit_seconds)}` +
      (status.extended_seconds ? ` + ${describeDuration(status.extended_seconds)} extended` : '') +
      `; then ${status.on_expire === 'shutdown' ? 'the kernel shuts down' : 'a warning'}.` +
      ` Click to add ${describeDuration(this._options.extendSeconds())}.` +
      idle +
      culling;
  }

  private async _click(): Promise<void> {
    const kernelId = this._options.kernelId();
    if (!kernelId) {
      return;
    }
    const body = this._status && this._status.started
      ? { action: 'extend', seconds: this._options.extendSeconds() }
      : {
          action: 'start',
          limit: this._options.defaultLimit() || null,
          on_expire: this._options.onExpire()
        };
    try {
      this._accept(await postAPI<ISessionStatus>(`session/${kernelId}`, body));
    } catch (error) {
      // the user asked for this: say why it did not happen (the next poll restores the title)
      void showErrorMessage('Session', error as Error);
    }
  }

  private async _refresh(): Promise<void> {
    const kernelId = this._options.kernelId();
    if (!kernelId) {
      this._status = null;
      this.update();
      return;
    }
    try {
      this._accept(await requestAPI<ISessionStatus>(`session/${kernelId}`));
    } catch (error) {
      this._missing = error instanceof ServerExtensionMissing;
      this._problem = (error as Error).message;
      this._status = null;
      this.update();
      if (!this._missing) {
        throw error;
      }
    }
  }

  private _accept(status: ISessionStatus): void {
    this._status = status;
    this._receivedAt = Date.now();
    this._problem = null;
    this._missing = false;
    this.update();
  }

  private _options: ISessionOptions;
  private _poll: Poll<void, Error>;
  private _tick: number;
  private _status: ISessionStatus | null = null;
  private _receivedAt = 0;
  private _problem: string | null = null;
  private _missing = false;
}
