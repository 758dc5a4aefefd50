import { showErrorMessage } from '@jupyterlab/apputils';
import type { TranslationBundle } from '@jupyterlab/translation';
import { Poll } from '@lumino/polling';
import { Widget } from '@lumino/widgets';

import { postAPI, requestAPI, ServerExtensionMissing, serverExtensionMissing } from './api';
import { describeCountdown } from './countdown';
import { countdownLevel, ICountdownThresholds, secondsLeftAt } from './format';
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
  /** the plugin's translations (domain colabmagic) */
  trans: TranslationBundle;
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
    const trans = this._options.trans;
    const node = this.node;
    const status = this._status;
    delete node.dataset.secondsLeft;
    if (this._problem && !status) {
      node.textContent = this._missing
        ? trans.__('Session: server extension not enabled')
        : trans.__('Session: –');
      node.dataset.level = 'ok';
      node.title = this._missing ? serverExtensionMissing(trans) : this._problem;
      return;
    }
    if (!status) {
      node.textContent = this._options.kernelId() ? trans.__('Session …') : trans.__('No kernel');
      node.dataset.level = 'ok';
      node.title = '';
      return;
    }
    const now = Date.now();
    const left = status.started ? secondsLeftAt(status.time_left_seconds, this._receivedAt, now) : null;
    const up =
      status.started_at !== null ? status.now - status.started_at + (now - this._receivedAt) / 1000 : null;
    node.dataset.level = !status.started
      ? 'ok'
      : status.expired
        ? 'critical'
        : countdownLevel(left, this._options.thresholds());
    if (left !== null) {
      node.dataset.secondsLeft = String(Math.max(0, Math.floor(left)));
    }
    const words = describeCountdown(
      status,
      {
        left,
        up,
        extendSeconds: this._options.extendSeconds(),
        defaultLimit: this._options.defaultLimit()
      },
      trans
    );
    node.textContent = words.text;
    node.title = words.title;
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
      void showErrorMessage(this._options.trans.__('Session'), error as Error);
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
