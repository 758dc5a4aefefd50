import { describe, expect, it } from 'vitest';

import { applyEdit, isFormMode } from './formsSource';

const CELL = ['#@title T { run: "auto" }', 'n = 2 #@param {type:"slider", min:0, max:10}', 'print(n)'].join('\n');
const EDIT = {
  line: 1,
  old: 'n = 2 #@param {type:"slider", min:0, max:10}',
  new: 'n = 7 #@param {type:"slider", min:0, max:10}'
};

describe('applyEdit', () => {
  it('replaces the line the kernel names', () => {
    expect(applyEdit(CELL, EDIT)).toBe(CELL.replace('n = 2', 'n = 7'));
  });
  it('finds the old line where lines were added above it', () => {
    expect(applyEdit('import os\n' + CELL, EDIT)).toBe('import os\n' + CELL.replace('n = 2', 'n = 7'));
  });
  it('leaves a source that already holds the new line as it is', () => {
    const done = CELL.replace('n = 2', 'n = 7');
    expect(applyEdit(done, EDIT)).toBe(done);
  });
  it('refuses where the line was edited or is ambiguous', () => {
    expect(applyEdit(CELL.replace('n = 2', 'n = 3'), EDIT)).toBeNull();
    expect(applyEdit('x\n' + EDIT.old + '\n' + EDIT.old, { ...EDIT, line: 0 })).toBeNull();
  });
  it('keeps Windows line endings of the other lines', () => {
    expect(applyEdit('a\r\n' + EDIT.old, { ...EDIT, line: 1 })).toBe('a\r\n' + EDIT.new);
  });
});

describe('isFormMode', () => {
  it('reads the title options Colab writes', () => {
    expect(isFormMode('#@title Setup { display-mode: "form" }\nimport os')).toBe(true);
    expect(isFormMode("# @title Setup {run:'auto', display-mode:'form'}")).toBe(true);
    expect(isFormMode('import os\n#@title Late {display-mode: "form"}')).toBe(true);
  });
  it('ignores other modes and code that merely mentions it', () => {
    expect(isFormMode('#@title Setup { display-mode: "both" }')).toBe(false);
    expect(isFormMode('#@title Setup')).toBe(false);
    expect(isFormMode('x = "display-mode: \\"form\\""')).toBe(false);
  });
});
