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
 * KEYS: run hash, index zset, journal stream. ARGV: runId, workflow, status, seq, writer, updatedAt,
 * snapshot JSON, claim (the revision this writer last saw, or '' when it never saw the run), snapshot
 * version, then the journal delta as pairs seq, RunEvent JSON (seq ≤ the snapshot's, increasing).
 * Returns {'ok', rev} | {'conflict', seq, rev} | {'invalid', reason}. The acceptance rule is the same as
 * PostgresStore's WHERE clause (see WriterClaims). Journal entries have the stream id `<seq>-0`; entries
 * beyond what both the old and the new checkpoint cover are dropped before the delta is added, so no seq is
 * ever in the stream twice.
 */
export const SAVE = script(`
local kind = redis.call('TYPE', KEYS[1]).ok
local rev = 1
local prevSeq = 0
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
  prevSeq = seq
end
local streamKind = redis.call('TYPE', KEYS[3]).ok
if streamKind ~= 'none' and streamKind ~= 'stream' then return {'invalid', 'the journal key holds a ' .. streamKind} end
local keep = math.min(prevSeq, tonumber(ARGV[4]))
local last = 0
if streamKind == 'stream' then
  local stale = redis.call('XRANGE', KEYS[3], tostring(keep + 1) .. '-0', '+')
  if #stale > 0 then
    for _, entry in ipairs(stale) do redis.call('XDEL', KEYS[3], entry[1]) end
    redis.call('XSETID', KEYS[3], tostring(keep) .. '-0')
  end
  local top = redis.call('XREVRANGE', KEYS[3], '+', '-', 'COUNT', 1)[1]
  if top then last = tonumber(string.match(top[1], '^(%d+)')) end
end
for i = 10, #ARGV, 2 do
  if tonumber(ARGV[i]) > last then redis.call('XADD', KEYS[3], ARGV[i] .. '-0', 'e', ARGV[i + 1]) end
end
redis.call('HSET', KEYS[1], 'snapshot', ARGV[7], 'workflow', ARGV[2], 'status', ARGV[3], 'seq', ARGV[4],
  'rev', rev, 'writer', ARGV[5], 'updatedAt', ARGV[6], 'version', ARGV[9])
redis.call('ZADD', KEYS[2], ARGV[6], ARGV[1])
return {'ok', tostring(rev)}
`);

/**
 * KEYS: run hash, journal stream. ARGV: afterSeq, limit ('' for all). Returns {} for an unknown run, else
 * {seq, snapshot JSON when the stored snapshot is version 1 (its history is part of the journal) or false,
 * then the journal entries' JSON after afterSeq up to seq}.
 */
export const EVENTS = script(`
if redis.call('TYPE', KEYS[1]).ok ~= 'hash' then return {} end
local cur = redis.call('HMGET', KEYS[1], 'seq', 'version')
local seq = tonumber(cur[1])
if not seq then return {} end
local out = {cur[1], false}
if cur[2] ~= '2' then out[2] = redis.call('HGET', KEYS[1], 'snapshot') end
local after = tonumber(ARGV[1])
if after < seq and redis.call('TYPE', KEYS[2]).ok == 'stream' then
  local entries
  if ARGV[2] == '' then
    entries = redis.call('XRANGE', KEYS[2], tostring(after + 1) .. '-0', tostring(seq) .. '-0')
  else
    entries = redis.call('XRANGE', KEYS[2], tostring(after + 1) .. '-0', tostring(seq) .. '-0', 'COUNT', ARGV[2])
  end
  for _, entry in ipairs(entries) do out[#out + 1] = entry[2][2] end
end
return out
`);

/** KEYS: run hash. Returns {type} for anything but a hash, else {'hash', snapshot|nil, rev|nil}. */
export const LOAD = script(`
local kind = redis.call('TYPE', KEYS[1]).ok
if kind ~= 'hash' then return {kind} end
local v = redis.call('HMGET', KEYS[1], 'snapshot', 'rev')
return {kind, v[1], v[2]}
`);

/** KEYS: run hash, index zset, journal stream. ARGV: runId. */
export const DELETE = script(`
redis.call('DEL', KEYS[1], KEYS[3])
redis.call('ZREM', KEYS[2], ARGV[1])
return 1
`);

/**
 * KEYS: index zset, then a run hash and its journal stream per run. ARGV: olderThan or '', status or '', then
 * the run ids, one per pair of KEYS. Deletes the runs that still match (one may have been saved again since
 * it was listed), journal included; returns their ids.
 */
export const PRUNE = script(`
local olderThan, status = tonumber(ARGV[1]), ARGV[2]
local removed = {}
for i = 2, #KEYS, 2 do
  local runId = ARGV[i / 2 + 2]
  local kind = redis.call('TYPE', KEYS[i]).ok
  if kind == 'hash' then
    local cur = redis.call('HMGET', KEYS[i], 'updatedAt', 'status')
    local at = tonumber(cur[1])
    if (not olderThan or (at and at < olderThan)) and (status == '' or cur[2] == status) then
      redis.call('DEL', KEYS[i], KEYS[i + 1])
      redis.call('ZREM', KEYS[1], runId)
      removed[#removed + 1] = runId
    end
  elseif kind == 'none' then
    redis.call('ZREM', KEYS[1], runId)
    redis.call('DEL', KEYS[i + 1])
  end
end
return removed
`);
