/**
 * A Python server of examples/ (examples/python, examples/notes) in a child
 * process, ready once it prints its "listening on <address>" line.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

export interface PythonServer {
  child: ChildProcess;
  address: string;
}

/** Starts `script` (a path) with `python`; rejects with its stderr when it exits or stays silent for 15 s (then it is killed). */
export function startPythonServer(python: string, script: string, options: { args?: string[]; env?: NodeJS.ProcessEnv } = {}): Promise<PythonServer> {
  const name = path.basename(script);
  const child = spawn(python, [script, '--port', '0', ...(options.args ?? [])], {
    env: { ...process.env, ...options.env, PYTHONDONTWRITEBYTECODE: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    let stdout = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${name} printed no "listening on" within 15 s: ${stderr}`));
    }, 15_000);
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      const match = /listening on (\S+)/.exec(stdout);
      if (match) {
        clearTimeout(timer);
        resolve({ child, address: match[1]! });
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${signal ?? `code ${code}`}) before listening: ${stderr}`));
    });
  });
}
