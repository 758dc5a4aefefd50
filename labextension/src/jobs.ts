import type { TranslationBundle } from '@jupyterlab/translation';
import { Poll } from '@lumino/polling';
import { Widget } from '@lumino/widgets';

import { requestAPI } from './api';
import { describeJobs } from './format';
import { IJob } from './types';

/** How many background runs are going on this machine, and how far they are. */
export class JobsBadge extends Widget {
  constructor(interval: () => number, trans: TranslationBundle) {
    super({ node: document.createElement('span') });
    this._trans = trans;
    this.addClass('cm-Jobs');
    this.hide();
    this._poll = new Poll<void, Error>({
      auto: true,
      factory: () => this._refresh(),
      frequency: { interval: Math.max(interval(), 5000), backoff: true, max: 60 * 1000 },
      name: 'colabmagic:jobs',
      standby: 'when-hidden'
    });
  }

  dispose(): void {
    this._poll.dispose();
    super.dispose();
  }

  private async _refresh(): Promise<void> {
    const { jobs } = await requestAPI<{ jobs: IJob[] }>('jobs');
    const shown = describeJobs(jobs, this._trans);
    if (shown === null) {
      this.hide();
      return;
    }
    this.node.textContent = shown.text;
    this.node.title = shown.title;
    this.show();
  }

  private _poll: Poll<void, Error>;
  private _trans: TranslationBundle;
}
