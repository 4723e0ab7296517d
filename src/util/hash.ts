import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

/** Streams a file through a hash, so large files never sit whole in memory. */
export function hashFile(file: string, algorithm: 'sha256' | 'md5' = 'sha256'): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash(algorithm);
    createReadStream(file).on('error', reject).on('data', (chunk) => h.update(chunk)).on('end', () => resolve(h.digest('hex')));
  });
}

export function hashBytes(data: Uint8Array | string, algorithm: 'sha256' | 'md5' = 'sha256'): string {
  return createHash(algorithm).update(data).digest('hex');
}
