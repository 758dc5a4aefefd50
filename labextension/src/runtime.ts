import { Dialog, showDialog } from '@jupyterlab/apputils';
import { NotebookPanel } from '@jupyterlab/notebook';
import { Kernel, KernelMessage } from '@jupyterlab/services';
import type { TranslationBundle } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';

import { postAPI, requestAPI, ServerExtensionMissing, serverExtensionMissing } from './api';
import { acceleratorLabel, formatBytes } from './format';
import { preselect } from './preselect';
import { IDevice, INotebookRuntimeMetadata, IRuntimeChoice, IRuntimeInfo, ISelection } from './types';

/** The notebook's saved runtime type, in Colab's keys, or null when it has none. */
export function savedRuntime(panel: NotebookPanel): INotebookRuntimeMetadata | null {
  const model = panel.context.model;
  const accelerator = model.getMetadata('accelerator');
  const colab = model.getMetadata('colab');
  if (accelerator === undefined && (!colab || (colab as any).gpuType === undefined)) {
    return null;
  }
  return {
    accelerator: typeof accelerator === 'string' ? accelerator : 'None',
    colab: { gpuType: colab && typeof (colab as any).gpuType === 'string' ? (colab as any).gpuType : '' }
  };
}

function saveRuntime(panel: NotebookPanel, metadata: INotebookRuntimeMetadata): void {
  const model = panel.context.model;
  model.setMetadata('accelerator', metadata.accelerator);
  // keep the other keys Colab writes under "colab" (name, provenance, ...)
  const colab = (model.getMetadata('colab') as { [key: string]: unknown } | undefined) || {};
  model.setMetadata('colab', { ...colab, gpuType: metadata.colab.gpuType });
}

/** Run the server's choice silently in the kernel; the Selection comes back as JSON. */
export async function applyInKernel(
  kernel: Kernel.IKernelConnection,
  choice: IRuntimeChoice,
  trans: TranslationBundle
): Promise<ISelection> {
  const future = kernel.requestExecute(
    {
      code: choice.execute.code,
      silent: true,
      store_history: false,
      user_expressions: choice.execute.user_expressions,
      allow_stdin: false
    },
    true
  );
  const reply = (await future.done) as KernelMessage.IExecuteReplyMsg;
  const content = reply.content as any;
  if (content.status !== 'ok') {
    throw new Error(`${content.ename}: ${content.evalue}`);
  }
  const result = content.user_expressions.selection;
  if (!result || result.status !== 'ok') {
    throw new Error(result ? `${result.ename}: ${result.evalue}` : trans.__('the kernel did not answer'));
  }
  return result.data['application/json'] as ISelection;
}

/** The dialog body: one radio per device, the current one checked. */
class RuntimeChooser extends Widget implements Dialog.IBodyWidget<string> {
  constructor(
    devices: IDevice[],
    kernelSpec: string | null,
    saved: INotebookRuntimeMetadata | null,
    trans: TranslationBundle
  ) {
    super();
    this.addClass('cm-RuntimeChooser');
    const intro = document.createElement('p');
    intro.textContent = trans.__('Hardware accelerator');
    this.node.appendChild(intro);
    const options: { spec: string; text: string }[] = [
      { spec: 'auto', text: trans.__('Auto (first GPU, else CPU)') },
      ...devices.map(d => ({
        spec: d.spec,
        text:
          `${d.kind === 'cpu' ? 'CPU' : d.spec.toUpperCase()}: ${d.name}` +
          (d.memory_total_bytes ? ` (${formatBytes(d.memory_total_bytes)})` : '')
      }))
    ];
    const checked = preselect(options.map(o => o.spec), kernelSpec, saved, devices);
    for (const option of options) {
      const label = document.createElement('label');
      label.className = 'cm-RuntimeChooser-option';
      const input = document.createElement('input');
      input.type = 'radio';
      input.name = 'cm-runtime';
      input.value = option.spec;
      input.checked = option.spec === checked;
      label.append(input, document.createTextNode(' ' + option.text));
      this.node.appendChild(label);
    }
  }

  getValue(): string {
    const input = this.node.querySelector<HTMLInputElement>('input[name="cm-runtime"]:checked');
    return input ? input.value : 'auto';
  }
}

/**
 * "Change runtime type": a toolbar button showing the notebook's runtime; the dialog lists the
 * server's devices, saves the choice with Colab's metadata keys and applies it to the kernel,
 * offering a restart when the kernel needs one. The saved choice is applied again whenever a
 * kernel starts or restarts for this notebook.
 */
export class RuntimeButton extends Widget {
  constructor(panel: NotebookPanel, trans: TranslationBundle) {
    super({ node: document.createElement('button') });
    this._panel = panel;
    this._trans = trans;
    this.addClass('cm-Runtime');
    this.node.setAttribute('type', 'button');
    this.node.addEventListener('click', this);
    panel.context.model.metadataChanged.connect(this.update, this);
    panel.sessionContext.statusChanged.connect(this._onStatus, this);
    panel.sessionContext.kernelChanged.connect(this._onKernel, this);
    void panel.sessionContext.ready.then(() => this._applySaved());
    this.update();
  }

  /** The last selection the kernel reported (for tests and the tooltip). */
  get lastSelection(): ISelection | null {
    return this._last;
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._panel.context.model.metadataChanged.disconnect(this.update, this);
    this._panel.sessionContext.statusChanged.disconnect(this._onStatus, this);
    this._panel.sessionContext.kernelChanged.disconnect(this._onKernel, this);
    super.dispose();
  }

  handleEvent(event: Event): void {
    if (event.type === 'click') {
      void this.openDialog();
    }
  }

  update(): void {
    const trans = this._trans;
    const saved = savedRuntime(this._panel);
    this.node.textContent = saved ? acceleratorLabel(saved) : trans.__('Runtime');
    const lines = [trans.__('Change runtime type')];
    if (this._last) {
      lines.push(trans.__('Kernel: %1', this._last.message));
    }
    if (this._problem) {
      lines.push(this._problem);
    }
    this.node.title = lines.join('\n');
  }

  async openDialog(): Promise<void> {
    // with the kernel's id the server also says what it last chose for this kernel
    const trans = this._trans;
    const kernel = this._panel.sessionContext.session?.kernel;
    let info: IRuntimeInfo;
    try {
      info = await requestAPI<IRuntimeInfo>(kernel ? `runtime/${kernel.id}` : 'runtime');
    } catch (error) {
      await showDialog({
        title: trans.__('Change runtime type'),
        body:
          error instanceof ServerExtensionMissing
            ? serverExtensionMissing(trans)
            : (error as Error).message,
        buttons: [Dialog.okButton()]
      });
      return;
    }
    const kernelSpec = info.selection?.spec ?? this._last?.spec ?? null;
    const result = await showDialog({
      title: trans.__('Change runtime type'),
      body: new RuntimeChooser(info.devices, kernelSpec, savedRuntime(this._panel), trans),
      buttons: [Dialog.cancelButton(), Dialog.okButton({ label: trans.__('Save') })]
    });
    if (!result.button.accept || result.value === null) {
      return;
    }
    await this.choose({ spec: result.value }, true);
  }

  /** Ask the server what a choice means, save it in the notebook, apply it in the kernel. */
  async choose(request: { spec: string } | { metadata: unknown }, save: boolean): Promise<void> {
    const trans = this._trans;
    const kernel = this._panel.sessionContext.session?.kernel;
    if (!kernel) {
      return;
    }
    try {
      const choice = await postAPI<IRuntimeChoice>(`runtime/${kernel.id}`, request);
      if (save) {
        saveRuntime(this._panel, choice.metadata);
      }
      this._last = await applyInKernel(kernel, choice, trans);
      this._problem = null;
      this.update();
      if (this._last.restart_needed && save) {
        const restart = await showDialog({
          title: trans.__('Restart the kernel?'),
          body: this._last.message,
          buttons: [
            Dialog.cancelButton({ label: trans.__('Later') }),
            Dialog.warnButton({ label: trans.__('Restart') })
          ]
        });
        if (restart.button.accept) {
          await this._panel.sessionContext.restartKernel();
        }
      }
    } catch (error) {
      this._problem = trans.__('Could not apply the runtime type: %1', (error as Error).message);
      this.update();
      if (save) {
        await showDialog({
          title: trans.__('Change runtime type'),
          body: this._problem,
          buttons: [Dialog.okButton()]
        });
      }
    }
  }

  private _onKernel(): void {
    this._last = null;
    this._restarting = false;
    void this._panel.sessionContext.ready.then(() => this._applySaved());
  }

  private _onStatus(_: unknown, status: Kernel.Status): void {
    if (status === 'restarting' || status === 'autorestarting') {
      this._restarting = true;
    } else if (status === 'idle' && this._restarting) {
      this._restarting = false;
      this._last = null;
      void this._applySaved();
    }
  }

  private async _applySaved(): Promise<void> {
    const saved = savedRuntime(this._panel);
    if (saved) {
      await this.choose({ metadata: { accelerator: saved.accelerator, colab: saved.colab } }, false);
    }
  }

  private _panel: NotebookPanel;
  private _trans: TranslationBundle;
  private _last: ISelection | null = null;
  private _problem: string | null = null;
  private _restarting = false;
}
