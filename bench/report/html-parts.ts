/** The HTML pieces the sections of report.html share: escaping, tables, lists. */

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/**
 * A table from a header and rows of text cells (escaped here): labels left
 * (`isLeft`), numbers right. `id` names it for links and tests.
 */
export function htmlTable(header: readonly string[], rows: ReadonlyArray<readonly string[]>, isLeft: (column: number) => boolean, id?: string): string {
  const cls = (i: number): string => (isLeft(i) ? ' class="l"' : '');
  const head = header.map((cell, i) => `<th${cls(i)}>${escapeHtml(cell)}</th>`).join('');
  const body = rows.map((row) => `<tr>${row.map((cell, i) => `<td${cls(i)}>${escapeHtml(cell)}</td>`).join('')}</tr>`).join('\n');
  return `<table${id ? ` id="${escapeHtml(id)}"` : ''}><thead><tr>${head}</tr></thead>\n<tbody>${body}</tbody></table>`;
}

/** A list of sentences (escaped here). */
export function htmlList(items: readonly string[], className?: string): string {
  return `<ul${className ? ` class="${className}"` : ''}>${items.map((item) => `<li>${escapeHtml(item)}</li>`).join('')}</ul>`;
}

/** Preformatted text (a terminal table kept as it is). */
export function htmlPre(text: string, id?: string): string {
  return `<pre${id ? ` id="${escapeHtml(id)}"` : ''}>${escapeHtml(text.trimEnd())}</pre>`;
}

export function htmlParagraph(text: string, className = 'muted'): string {
  return `<p class="${className}">${escapeHtml(text)}</p>`;
}
