/**
 * A plain-text table for the terminal: columns two spaces apart, each as wide
 * as its widest cell, labels left-aligned and numbers right-aligned.
 */
export function textTable(header: readonly string[], rows: ReadonlyArray<readonly string[]>, isLeft: (column: number) => boolean): string {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((cells) => (cells[i] ?? '').length)));
  return all.map((cells) => cells.map((cell, i) => (isLeft(i) ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ').trimEnd()).join('\n');
}
