import { z } from 'zod';

/** E.164: '+', a country code that never starts with 0, at most 15 digits in all. */
export const E164_PATTERN = /^\+[1-9]\d{6,14}$/;

export const e164Schema = z.string().regex(E164_PATTERN, 'must be an international number such as +14155550100');

// White space (\s includes no-break and thin spaces), zero-width space, dashes of every width,
// the minus sign, parentheses.
const SEPARATORS = /[\s\u200b()\-\u2010-\u2015\u2212]/g;

/**
 * What a person typed, as E.164, or null. There is deliberately no country guessing: without the
 * leading '+' a number could belong to any country (and "00" or "011" prefixes depend on where
 * the person dials from), and a wrong guess sends a sign-in code to a stranger. The form asks for
 * the international format.
 */
export function normalizePhone(input: string): string | null {
  // NFKC folds full-width digits and plus signs (common with CJK input methods) to ASCII.
  const text = input.normalize('NFKC');
  // "+41 (0)44 …" marks a trunk zero that is NOT dialled from abroad; dropping only the
  // parentheses would keep it and yield another, valid-looking number. Refuse rather than guess.
  if (/\(\s*0\s*\)/.test(text)) return null;
  const compact = text.replace(SEPARATORS, '');
  return E164_PATTERN.test(compact) ? compact : null;
}
