import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { ISignal, Signal } from '@lumino/signaling';

import { ICountdownThresholds, IUsageThresholds } from './format';

/** The settings schema's values (schema/plugin.json), with its defaults. */
export interface IToolbarSettings {
  refreshRate: number;
  showResources: boolean;
  showRuntime: boolean;
  showSession: boolean;
  showStatusBar: boolean;
  usageWarn: number;
  usageCritical: number;
  sessionWarnMinutes: number;
  sessionCriticalMinutes: number;
  extendMinutes: number;
  defaultLimit: string;
  onExpire: 'warn' | 'shutdown';
}

export const DEFAULTS: IToolbarSettings = {
  refreshRate: 2000,
  showResources: true,
  showRuntime: true,
  showSession: true,
  showStatusBar: true,
  usageWarn: 0.8,
  usageCritical: 0.95,
  sessionWarnMinutes: 30,
  sessionCriticalMinutes: 5,
  extendMinutes: 60,
  defaultLimit: '12h',
  onExpire: 'warn'
};

/** Current settings, updated live from the setting registry when there is one. */
export class ToolbarSettings {
  get values(): IToolbarSettings {
    return this._values;
  }

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get usageThresholds(): IUsageThresholds {
    return { warn: this._values.usageWarn, critical: this._values.usageCritical };
  }

  get countdownThresholds(): ICountdownThresholds {
    return {
      warnSeconds: this._values.sessionWarnMinutes * 60,
      criticalSeconds: this._values.sessionCriticalMinutes * 60
    };
  }

  connect(settings: ISettingRegistry.ISettings): void {
    const load = () => {
      this._values = { ...DEFAULTS, ...(settings.composite as Partial<IToolbarSettings>) };
      this._changed.emit();
    };
    settings.changed.connect(load);
    load();
  }

  private _values: IToolbarSettings = { ...DEFAULTS };
  private _changed = new Signal<this, void>(this);
}
