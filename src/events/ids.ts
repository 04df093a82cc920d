import { v4 as uuidv4 } from 'uuid';

/**
 * A fresh uuid, flattened: Node builds `randomUUID()` by concatenation, a rope of ~40 small strings that
 * would otherwise be kept for as long as the id is (every envelope and run); reading one character makes
 * V8 flatten it into one 36-character string.
 */
export function uuid(): string {
  const id = uuidv4();
  id.charCodeAt(0);
  return id;
}
