import { DocumentRegistry } from '@jupyterlab/docregistry';
import { INotebookModel, NotebookPanel } from '@jupyterlab/notebook';
import type { TranslationBundle } from '@jupyterlab/translation';
import { DisposableDelegate, IDisposable } from '@lumino/disposable';
import { Panel } from '@lumino/widgets';

import { JobsBadge } from './jobs';
import { ResourceBars, ResourceModel } from './resources';
import { RuntimeButton } from './runtime';
import { SessionCountdown } from './session';
import { ToolbarSettings } from './settings';

/** Colab's corner of a notebook: the bars, the runtime button and the session countdown. */
export class ColabToolbar extends Panel {
  constructor(
    panel: NotebookPanel,
    model: ResourceModel,
    settings: ToolbarSettings,
    trans: TranslationBundle
  ) {
    super();
    this.addClass('cm-Toolbar');
    this._settings = settings;
    const kernelId = () => panel.sessionContext.session?.kernel?.id ?? null;
    this.bars = new ResourceBars(model, {
      kernelId,
      thresholds: () => settings.usageThresholds,
      trans
    });
    this.runtime = new RuntimeButton(panel, trans);
    this.session = new SessionCountdown({
      kernelId,
      interval: () => settings.values.refreshRate,
      thresholds: () => settings.countdownThresholds,
      extendSeconds: () => settings.values.extendMinutes * 60,
      defaultLimit: () => settings.values.defaultLimit,
      onExpire: () => settings.values.onExpire,
      trans
    });
    this.jobs = new JobsBadge(() => settings.values.refreshRate, trans);
    this.addWidget(this.bars);
    this.addWidget(this.runtime);
    this.addWidget(this.session);
    this.addWidget(this.jobs);
    panel.sessionContext.kernelChanged.connect(this._onKernel, this);
    settings.changed.connect(this._show, this);
    this._show();
  }

  readonly bars: ResourceBars;
  readonly runtime: RuntimeButton;
  readonly session: SessionCountdown;
  readonly jobs: JobsBadge;

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._settings.changed.disconnect(this._show, this);
    super.dispose();
  }

  private _onKernel(): void {
    this.bars.update();
    void this.session.refresh();
  }

  private _show(): void {
    const v = this._settings.values;
    this.bars.setHidden(!v.showResources);
    this.runtime.setHidden(!v.showRuntime);
    this.session.setHidden(!v.showSession);
    this.session.interval = v.refreshRate;
  }

  private _settings: ToolbarSettings;
}

/** Adds a ColabToolbar to every notebook's toolbar (JupyterLab and Notebook 7 alike). */
export class ToolbarExtension
  implements DocumentRegistry.IWidgetExtension<NotebookPanel, INotebookModel>
{
  constructor(model: ResourceModel, settings: ToolbarSettings, trans: TranslationBundle) {
    this._model = model;
    this._settings = settings;
    this._trans = trans;
  }

  createNew(panel: NotebookPanel): IDisposable {
    const toolbar = new ColabToolbar(panel, this._model, this._settings, this._trans);
    panel.toolbar.insertItem(10, 'colabmagic', toolbar);
    return new DisposableDelegate(() => toolbar.dispose());
  }

  private _model: ResourceModel;
  private _settings: ToolbarSettings;
  private _trans: TranslationBundle;
}
