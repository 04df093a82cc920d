import { createHash } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';

/** A Lua script sent by hash, and in full only the first time a server has not seen it. */
export interface Script {
  readonly source: string;
  readonly sha: string;
}

export const script = (source: string): Script => ({ source, sha: createHash('sha1').update(source).digest('hex') });

export async function runScript(
  client: Redis | Cluster,
  { source, sha }: Script,
  keys: readonly string[],
  args: readonly (string | number)[],
): Promise<unknown> {
  try {
    return await client.evalsha(sha, keys.length, ...keys, ...args);
  } catch (error) {
    if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
    return await client.eval(source, keys.length, ...keys, ...args);
  }
}

/**
 * KEYS: run hash, index zset. ARGV: runId, workflow, status, seq, writer, updatedAt, snapshot JSON, claim
 * (the revision this writer last saw, or '' when it never saw the run).
 * Returns {'ok', rev} | {'conflict', seq, rev} | {'invalid', reason}. The acceptance rule is the same as
 * PostgresStore's WHERE clause (see WriterClaims).
 */
export const SAVE = script(`
local kind = redis.call('TYPE', KEYS[1]).ok
local rev = 1
if kind ~= 'none' then
  if kind ~= 'hash' then return {'invalid', 'the key holds a ' .. kind .. ', not a hash'} end
  local cur = redis.call('HMGET', KEYS[1], 'seq', 'rev', 'writer')
  local seq, curRev = tonumber(cur[1]), tonumber(cur[2])
  if not seq or not curRev then return {'invalid', 'the hash has no numeric seq and rev fields'} end
  local ok = cur[3] == ARGV[5]
    or (ARGV[8] ~= '' and curRev == tonumber(ARGV[8]))
    or (ARGV[8] == '' and seq < tonumber(ARGV[4]))
  if not ok then return {'conflict', cur[1], cur[2]} end
  rev = curRev + 1
end
redis.call('HSET', KEYS[1], 'snapshot', ARGV[7], 'workflow', ARGV[2], 'status', ARGV[3], 'seq', ARGV[4],
  'rev', rev, 'writer', ARGV[5], 'updatedAt', ARGV[6])
redis.call('ZADD', KEYS[2], ARGV[6], ARGV[1])
return {'ok', tostring(rev)}
`);

/** KEYS: run hash. Returns {type} for anything but a hash, else {'hash', snapshot|nil, rev|nil}. */
export const LOAD = script(`
local kind = redis.call('TYPE', KEYS[1]).ok
if kind ~= 'hash' then return {kind} end
local v = redis.call('HMGET', KEYS[1], 'snapshot', 'rev')
return {kind, v[1], v[2]}
`);

/** KEYS: run hash, index zset. ARGV: runId. */
export const DELETE = script(`
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return 1
`);

/**
 * KEYS: index zset, then run hashes. ARGV: olderThan or '', status or '', then the run ids matching KEYS[2..].
 * Deletes the runs that still match (one may have been saved again since it was listed); returns their ids.
 */
export const PRUNE = script(`
local olderThan, status = tonumber(ARGV[1]), ARGV[2]
local removed = {}
for i = 2, #KEYS do
  local runId = ARGV[i + 1]
  local kind = redis.call('TYPE', KEYS[i]).ok
  if kind == 'hash' then
    local cur = redis.call('HMGET', KEYS[i], 'updatedAt', 'status')
    local at = tonumber(cur[1])
    if (not olderThan or (at and at < olderThan)) and (status == '' or cur[2] == status) then
      redis.call('DEL', KEYS[i])
      redis.call('ZREM', KEYS[1], runId)
      removed[#removed + 1] = runId
    end
  elseif kind == 'none' then
    redis.call('ZREM', KEYS[1], runId)
  end
end
return removed
`);
