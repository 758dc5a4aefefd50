import type { TranslationBundle } from '@jupyterlab/translation';
import { Poll } from '@lumino/polling';
import { ISignal, Signal } from '@lumino/signaling';
import { Widget } from '@lumino/widgets';

import { requestAPI, ServerExtensionMissing, serverExtensionMissing } from './api';
import { barsOf } from './bars';
import { fraction, IUsageThresholds, Level, usageLevel } from './format';
import { IResources } from './types';

/**
 * One poll of /colabmagic/api/resources shared by every toolbar and the status bar.
 * `@lumino/polling` stands by while the tab is hidden and backs off after errors.
 */
export class ResourceModel {
  constructor(interval: number) {
    this._poll = new Poll<IResources | null, Error>({
      auto: true,
      factory: () => this._refresh(),
      frequency: { interval, backoff: true, max: 60 * 1000 },
      name: 'colabmagic:resources',
      standby: 'when-hidden'
    });
  }

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get resources(): IResources | null {
    return this._resources;
  }

  /** Why there are no readings: the server extension is missing, or the last error. */
  get problem(): string | null {
    return this._problem;
  }

  get missingServer(): boolean {
    return this._missing;
  }

  set interval(ms: number) {
    this._poll.frequency = { ...this._poll.frequency, interval: ms };
  }

  refresh(): Promise<void> {
    return this._poll.refresh();
  }

  dispose(): void {
    this._poll.dispose();
  }

  private async _refresh(): Promise<IResources | null> {
    try {
      this._resources = await requestAPI<IResources>('resources');
      this._problem = null;
      this._missing = false;
    } catch (error) {
      this._missing = error instanceof ServerExtensionMissing;
      this._problem = (error as Error).message;
      this._resources = null;
      this._changed.emit();
      if (this._missing) {
        // nothing will appear until Jupyter restarts: stop asking every second
        this._poll.frequency = { ...this._poll.frequency, interval: 60 * 1000 };
        return null;
      }
      throw error;
    }
    this._changed.emit();
    return this._resources;
  }

  private _poll: Poll<IResources | null, Error>;
  private _resources: IResources | null = null;
  private _problem: string | null = null;
  private _missing = false;
  private _changed = new Signal<this, void>(this);
}

/**
 * RAM / disk / GPU mini bars with a tooltip of details. Each bar carries its numbers as
 * data-used / data-total (bytes) and data-level, so tests and themes can read them.
 */
export class ResourceBars extends Widget {
  constructor(
    model: ResourceModel,
    options: {
      kernelId?: () => string | null;
      thresholds: () => IUsageThresholds;
      trans: TranslationBundle;
    }
  ) {
    super();
    this._model = model;
    this._trans = options.trans;
    this._kernelId = options.kernelId || (() => null);
    this._thresholds = options.thresholds;
    this.addClass('cm-ResourceBars');
    model.changed.connect(this.update, this);
    this.update();
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._model.changed.disconnect(this.update, this);
    super.dispose();
  }

  update(): void {
    const node = this.node;
    const resources = this._model.resources;
    const trans = this._trans;
    node.textContent = '';
    if (!resources) {
      const hint = document.createElement('span');
      hint.className = 'cm-hint';
      if (this._model.missingServer) {
        hint.textContent = trans.__('colabmagic: server extension not enabled');
        node.title = serverExtensionMissing(trans);
      } else if (this._model.problem) {
        hint.textContent = trans.__('colabmagic: resources unavailable');
        node.title = this._model.problem;
      } else {
        hint.textContent = trans.__('RAM … Disk …');
        node.title = trans.__('Reading resources…');
      }
      node.appendChild(hint);
      return;
    }
    const bars = barsOf(resources, this._kernelId(), trans);
    const thresholds = this._thresholds();
    for (const bar of bars) {
      const share = fraction(bar.used, bar.total);
      const level: Level = usageLevel(share, thresholds);
      const item = document.createElement('span');
      item.className = 'cm-bar';
      item.dataset.key = bar.key;
      item.dataset.used = String(bar.used);
      item.dataset.total = String(bar.total);
      item.dataset.level = level;
      const label = document.createElement('span');
      label.className = 'cm-bar-label';
      label.textContent = bar.label;
      const track = document.createElement('span');
      track.className = 'cm-bar-track';
      const fill = document.createElement('span');
      fill.className = `cm-bar-fill cm-level-${level}`;
      fill.style.width = `${(share * 100).toFixed(1)}%`;
      track.appendChild(fill);
      item.append(label, track);
      item.title = bar.detail;
      node.appendChild(item);
    }
    const lines = bars.map(b => b.detail);
    if (resources.cpu && resources.cpu.percent !== null) {
      const { cores } = resources.cpu;
      const percent = Math.round(resources.cpu.percent);
      lines.push(
        cores === null
          ? trans.__('CPU: %1%', percent)
          : trans._n('CPU: %2% of %1 core', 'CPU: %2% of %1 cores', cores, percent)
      );
    }
    if (!resources.gpus.length && resources.gpuProblem) {
      lines.push(trans.__('No GPU: %1', resources.gpuProblem));
    }
    node.title = lines.join('\n');
  }

  private _model: ResourceModel;
  private _kernelId: () => string | null;
  private _thresholds: () => IUsageThresholds;
  private _trans: TranslationBundle;
}
