import { fileURLToPath } from 'node:url';

/** The repository's root folder: where node_modules, results/ and .tmp/ (build caches) are, whatever the working directory. */
export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
