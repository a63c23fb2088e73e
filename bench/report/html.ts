/** report.html: the page (bench/report/html-page.ts) under the name its callers import. */
export * from './html-page.ts';
