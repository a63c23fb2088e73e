/**
 * A certificate generated at start for `--tls` runs: no key material is stored
 * in the repository, and clients of the bench accept it explicitly.
 */
import { isIP } from 'node:net';
import { generate } from 'selfsigned';

export interface TlsMaterial {
  key: Buffer;
  cert: Buffer;
}

export async function createSelfSignedTls(host: string): Promise<TlsMaterial> {
  const altNames: Array<{ type: 2; value: string } | { type: 7; ip: string }> = [
    { type: 2, value: 'localhost' },
    { type: 7, ip: '127.0.0.1' },
  ];
  if (isIP(host) && host !== '127.0.0.1') altNames.push({ type: 7, ip: host });
  else if (!isIP(host) && host !== 'localhost') altNames.push({ type: 2, value: host });
  const pems = await generate([{ name: 'commonName', value: 'callbench.local' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notAfterDate: new Date(Date.now() + 2 * 24 * 3600 * 1000),
    extensions: [{ name: 'subjectAltName', altNames }],
  });
  return { key: Buffer.from(pems.private), cert: Buffer.from(pems.cert) };
}
