import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { INotebookTracker, NotebookActions, NotebookPanel } from '@jupyterlab/notebook';
import { Kernel, KernelMessage } from '@jupyterlab/services';
import { ITranslator, nullTranslator, TranslationBundle } from '@jupyterlab/translation';

import { applyEdit, IFormEdit, isFormMode } from './formsSource';

/** The comm colabmagic.colab.form_frontend opens for each form (its docstring has the messages). */
const TARGET = 'colabmagic.forms';

interface IFormOpen {
  version: number;
  cell_id: string;
  display_mode: string;
  has_fields?: boolean;
}

interface IEditMessage extends IFormEdit {
  event: 'edit';
  seq: number;
  run: boolean;
}

// one edit reaches every kernel connection of the kernel (two views of one notebook): apply it once
const applied = new Set<string>();
// a form-only cell is collapsed once (on open, or on its first run here): code the user has
// opened to edit stays open when the cell runs again
const collapsed = new WeakSet<object>();

function collapse(cell: NotebookPanel['content']['widgets'][number]): void {
  if (!collapsed.has(cell.model)) {
    collapsed.add(cell.model);
    cell.inputHidden = true;
  }
}

function cellById(panel: NotebookPanel, id: string) {
  return panel.content.widgets.find(cell => cell.model.id === id) ?? null;
}

/** Collapse the code of the cells that ask for it, as Colab shows them (the choice is saved). */
function collapseFormCells(panel: NotebookPanel): void {
  for (const cell of panel.content.widgets) {
    if (cell.model.type === 'code' && isFormMode(cell.model.sharedModel.getSource())) {
      collapse(cell);
    }
  }
}

/** The first form cell that runs becomes papermill's parameters cell, unless the notebook has one. */
function tagParameters(panel: NotebookPanel, cellId: string): void {
  const cells = panel.content.widgets;
  const tags = (cell: (typeof cells)[number]) => (cell.model.getMetadata('tags') as string[] | undefined) ?? [];
  if (cells.some(cell => tags(cell).includes('parameters'))) {
    return;
  }
  const cell = cellById(panel, cellId);
  cell?.model.setMetadata('tags', [...tags(cell), 'parameters']);
}

function onFormOpen(
  panel: NotebookPanel,
  comm: Kernel.IComm,
  msg: KernelMessage.ICommOpenMsg,
  trans: TranslationBundle
): void {
  const open = msg.content.data as unknown as IFormOpen;
  const cell = cellById(panel, open.cell_id);
  if (!cell) {
    return; // another notebook's cell (a kernel shared by several documents): its own panel answers
  }
  comm.send({ event: 'ready' });
  if (open.display_mode === 'form') {
    collapse(cell);
  }
  if (open.has_fields) {
    tagParameters(panel, open.cell_id);
  }
  comm.onMsg = (message: KernelMessage.ICommMsgMsg) => {
    const data = message.content.data as unknown as IEditMessage;
    const key = `${comm.commId}:${data.seq}`;
    if (data.event !== 'edit' || applied.has(key)) {
      return;
    }
    applied.add(key);
    const target = cellById(panel, open.cell_id);
    const source = target ? applyEdit(target.model.sharedModel.getSource(), data) : null;
    if (!target || source === null) {
      comm.send({
        event: 'edit-failed',
        seq: data.seq,
        // the kernel shows this under the form: in the language the user reads the notebook in
        message: trans.__(
          'the cell changed since it ran, so its source keeps the old value: run the cell again'
        )
      });
      return;
    }
    target.model.sharedModel.setSource(source);
    if (data.run) {
      void NotebookActions.runCells(panel.content, [target], panel.sessionContext);
    }
  };
}

function watch(panel: NotebookPanel, trans: TranslationBundle): void {
  const listen = () => {
    panel.sessionContext.session?.kernel?.registerCommTarget(TARGET, (comm, msg) =>
      onFormOpen(panel, comm, msg, trans)
    );
  };
  panel.sessionContext.kernelChanged.connect(listen);
  void panel.sessionContext.ready.then(listen);
  void panel.context.ready.then(() => collapseFormCells(panel));
}

/**
 * Colab forms: the kernel draws a form cell's widgets (colabmagic.colab.forms); this writes a
 * changed value back into the cell's source, so the saved notebook keeps it, re-runs `run: "auto"`
 * cells the way the notebook's Run does, and collapses the code of `display-mode: "form"` cells.
 */
const formsPlugin: JupyterFrontEndPlugin<void> = {
  id: 'colabmagic:forms',
  description: 'Colab forms: field changes written into the cell source, form-only cells collapsed',
  autoStart: true,
  requires: [INotebookTracker],
  optional: [ITranslator],
  activate: (app: JupyterFrontEnd, tracker: INotebookTracker, translator: ITranslator | null) => {
    const trans = (translator ?? nullTranslator).load('colabmagic');
    tracker.forEach(panel => watch(panel, trans));
    tracker.widgetAdded.connect((_, panel) => watch(panel, trans));
  }
};

export default formsPlugin;
