import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { INotebookTracker } from '@jupyterlab/notebook';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { IStatusBar } from '@jupyterlab/statusbar';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';

import formsPlugin from './forms';
import { ResourceBars, ResourceModel } from './resources';
import { ToolbarSettings } from './settings';
import { ToolbarExtension } from './toolbar';

const PLUGIN_ID = 'colabmagic:plugin';

/**
 * colabmagic's toolbar: RAM / disk / GPU bars, "Change runtime type" and the session countdown
 * in every notebook's toolbar, and the bars in the status bar.
 */
const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: 'Colab-like resource bars, runtime selector and session countdown',
  autoStart: true,
  optional: [ISettingRegistry, IStatusBar, INotebookTracker, ITranslator],
  activate: async (
    app: JupyterFrontEnd,
    registry: ISettingRegistry | null,
    statusBar: IStatusBar | null,
    tracker: INotebookTracker | null,
    translator: ITranslator | null
  ) => {
    const trans = (translator ?? nullTranslator).load('colabmagic');
    const settings = new ToolbarSettings();
    const model = new ResourceModel(settings.values.refreshRate);
    app.docRegistry.addWidgetExtension('Notebook', new ToolbarExtension(model, settings, trans));
    if (statusBar) {
      const bars = new ResourceBars(model, {
        kernelId: () => tracker?.currentWidget?.sessionContext.session?.kernel?.id ?? null,
        thresholds: () => settings.usageThresholds,
        trans
      });
      bars.addClass('cm-StatusBars');
      statusBar.registerStatusItem(PLUGIN_ID + ':status', {
        item: bars,
        align: 'left',
        rank: 100,
        isActive: () => settings.values.showStatusBar && settings.values.showResources,
        activeStateChanged: settings.changed
      });
      tracker?.currentChanged.connect(() => bars.update());
    }
    if (registry) {
      try {
        settings.connect(await registry.load(PLUGIN_ID));
        settings.changed.connect(() => {
          model.interval = settings.values.refreshRate;
        });
        model.interval = settings.values.refreshRate;
      } catch (error) {
        console.warn('colabmagic: could not load settings, using defaults', error);
      }
    }
  }
};

export default [plugin, formsPlugin];
