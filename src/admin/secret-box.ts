import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { Keyring } from '../keys/keyring.ts';

/**
 * Secrets among the stored settings (SMTP password, SMS token) are encrypted a second time, on top
 * of the database encryption, so a settings row that leaks through a backup of the decrypted
 * database, a debug dump or a careless query is still useless. The key is derived (HKDF) from the
 * keyring's token key: token keys are never pruned, so a rotation never strands a stored secret;
 * each box names the key it was sealed with and the next save re-seals it with the active one.
 */
const INFO = Buffer.from('tessera-settings-secret-v1');
const boxSchema = z.object({ v: z.literal(1), kid: z.string().min(1), iv: z.string(), ct: z.string(), tag: z.string() });
export type SealedSecret = z.infer<typeof boxSchema>;

function derive(raw: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', raw, Buffer.alloc(0), INFO, 32));
}

export class SecretBox {
  constructor(private readonly keyring: Keyring) {}

  /** `name` is bound as associated data: a box copied to another setting does not open. */
  seal(name: string, plain: string): string {
    const k = this.keyring.active('token');
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', derive(k.key), iv);
    c.setAAD(Buffer.from(name));
    const ct = Buffer.concat([c.update(plain, 'utf8'), c.final()]);
    const box: SealedSecret = { v: 1, kid: k.id, iv: iv.toString('base64'), ct: ct.toString('base64'), tag: c.getAuthTag().toString('base64') };
    return JSON.stringify(box);
  }

  /** The plain secret, or undefined when the box is damaged or its key is gone (the setting then counts as unset). */
  open(name: string, sealed: string): string | undefined {
    try {
      const box = boxSchema.parse(JSON.parse(sealed));
      const k = this.keyring.byId(box.kid);
      if (!k) return undefined;
      const d = createDecipheriv('aes-256-gcm', derive(k.key), Buffer.from(box.iv, 'base64'));
      d.setAAD(Buffer.from(name));
      d.setAuthTag(Buffer.from(box.tag, 'base64'));
      return Buffer.concat([d.update(Buffer.from(box.ct, 'base64')), d.final()]).toString('utf8');
    } catch {
      return undefined;
    }
  }
}
