/**
 * Markdown table lines, shared by the report renderers so every table escapes
 * its cells and spells its alignment row the same way.
 */

/** A `|` in a cell (or a list item of a table's notes) would end the cell early. */
export function escapePipes(text: string): string {
  return text.replaceAll('|', '\\|');
}

/** "| a | b |", every cell escaped. */
export function markdownRow(cells: readonly string[]): string {
  return `| ${cells.map(escapePipes).join(' | ')} |`;
}

/** The line under the header: " --- " where `isLeft(column)` (labels), " ---: " (right, for numbers) elsewhere. */
export function alignmentRow(columns: number, isLeft: (column: number) => boolean): string {
  return `|${Array.from({ length: columns }, (_, i) => (isLeft(i) ? ' --- ' : ' ---: ')).join('|')}|`;
}

/** Header, alignment row and body rows of one table, one line each. */
export function markdownTable(header: readonly string[], rows: Iterable<readonly string[]>, isLeft: (column: number) => boolean): string[] {
  const lines = [markdownRow(header), alignmentRow(header.length, isLeft)];
  for (const row of rows) lines.push(markdownRow(row));
  return lines;
}
