/**
 * What the forms plugin does to a cell's source, as pure functions (tested without a browser).
 */

/** One field change from the kernel: the line's text before and after the new value. */
export interface IFormEdit {
  line: number;
  old: string;
  new: string;
}

/**
 * SOURCE with the edit applied, or null where the cell no longer holds the old line (edited since
 * it ran): the kernel's line number first, else the one line equal to the old text (lines added
 * above it). A source that already holds the new line is returned unchanged (another view of the
 * same notebook applied it).
 */
export function applyEdit(source: string, edit: IFormEdit): string | null {
  const lines = source.split('\n');
  if (lines[edit.line] === edit.new) {
    return source;
  }
  let at = lines[edit.line] === edit.old ? edit.line : lines.indexOf(edit.old);
  if (at < 0 || (at !== edit.line && lines.lastIndexOf(edit.old) !== at)) {
    return null;
  }
  lines[at] = edit.new;
  return lines.join('\n');
}

const FORM_MODE = /^[ \t]*#\s*@title\b[^\n]*\{[^\n}]*display-mode\s*:\s*["']form["'][^\n}]*\}[ \t]*$/m;

/** Whether a cell's source asks Colab to show only its form (`#@title ... {display-mode: "form"}`). */
export function isFormMode(source: string): boolean {
  return FORM_MODE.test(source);
}
