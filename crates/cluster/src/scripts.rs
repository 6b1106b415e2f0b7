//! The Lua scripts the cluster runs. Each touches the keys of one shard
//! only (one hash tag, one slot), so Redis runs it atomically on the node
//! that owns the shard: a chunk read sees one state of the shard, and a
//! shard's part of a batch applies whole or not at all.

/// A script and its SHA1, sent as `EVALSHA` (and as `EVAL` when the node
/// does not have it yet, after a failover or a restart).
#[derive(Debug)]
pub struct Lua {
    pub text: &'static str,
    pub sha: String,
}

impl Lua {
    pub fn new(text: &'static str) -> Lua {
        Lua {
            text,
            sha: redis::Script::new(text).get_hash().to_owned(),
        }
    }
}

/// One chunk: `ZRANGE map BYLEX [REV] LIMIT 0 n` and the rows of the keys
/// found, in one call.
///
/// KEYS: the map's sorted set, the rows hash, the refs hash.
/// ARGV: lower ("-", "[bytes", "(bytes"), upper ("+", ...), "1" for
/// descending, the limit, "1" when the map is an index (its members lead
/// to data keys through the refs hash).
/// Returns `{members, rows}`.
pub const CHUNK: &str = r"
local members
if ARGV[3] == '1' then
  members = redis.call('ZRANGE', KEYS[1], ARGV[2], ARGV[1], 'BYLEX', 'REV', 'LIMIT', 0, ARGV[4])
else
  members = redis.call('ZRANGE', KEYS[1], ARGV[1], ARGV[2], 'BYLEX', 'LIMIT', 0, ARGV[4])
end
if #members == 0 then
  return {members, {}}
end
local data = members
if ARGV[5] == '1' then
  data = redis.call('HMGET', KEYS[3], unpack(members))
  for i = 1, #data do
    if not data[i] then
      return redis.error_reply('KEYSET index entry without its data key')
    end
  end
end
return {members, redis.call('HMGET', KEYS[2], unpack(data))}
";

/// One shard's part of a batch: checks every op first (an INSERT of a key
/// that exists, a unique index value another row holds), then applies all
/// of them, so the shard changes whole or not at all.
///
/// KEYS: 1 data set, 2 rows hash, 3 refs hash, then per index j (from 1):
/// `KEYS[2 + 2j]` its set, `KEYS[3 + 2j]` its row -> key hash.
/// ARGV: 1 the number of indexes n, 2..n+1 "1" for a unique index, then the
/// ops: `D dk`, or `I|P dk row` followed per index by its new key and the
/// unique prefix range ("[prefix", "(successor" or "+"; empty strings when
/// the index is not unique or a column is NULL).
/// Returns `{0, rows changed}`, `{1, op}` for a duplicate key, `{2, op,
/// index}` for a unique violation (ops and indexes counted from 1).
pub const WRITE: &str = r"
local nidx = tonumber(ARGV[1])
local first = 2 + nidx
local state, keys, claimed, claims = {}, {}, {}, {}
for j = 1, nidx do
  keys[j], claimed[j], claims[j] = {}, {}, {}
end
local p, n = first, 0
while p <= #ARGV do
  n = n + 1
  local kind, dk = ARGV[p], ARGV[p + 1]
  if kind == 'D' then
    state[dk] = 'del'
    p = p + 2
  else
    local exists
    if state[dk] ~= nil then
      exists = state[dk] == 'put'
    else
      exists = redis.call('HEXISTS', KEYS[2], dk) == 1
    end
    if kind == 'I' and exists then
      return {1, n}
    end
    for j = 1, nidx do
      local at = p + 3 + 3 * (j - 1)
      local key, lo, hi = ARGV[at], ARGV[at + 1], ARGV[at + 2]
      if lo ~= '' then
        local other = claims[j][lo]
        if other ~= nil and other ~= dk and state[other] == 'put' and claimed[j][other] == lo then
          return {2, n, j}
        end
        local members = redis.call('ZRANGE', KEYS[2 + 2 * j], lo, hi, 'BYLEX', 'LIMIT', 0, 3)
        for _, m in ipairs(members) do
          local owner = redis.call('HGET', KEYS[3], m)
          if owner and owner ~= dk then
            local s = state[owner]
            if s == nil or (s == 'put' and claimed[j][owner] == lo) then
              return {2, n, j}
            end
          end
        end
        claims[j][lo] = dk
        claimed[j][dk] = lo
      else
        claimed[j][dk] = nil
      end
      keys[j][dk] = key
    end
    state[dk] = 'put'
    p = p + 3 + 3 * nidx
  end
end
p = first
local changed = 0
while p <= #ARGV do
  local kind, dk = ARGV[p], ARGV[p + 1]
  if kind == 'D' then
    if redis.call('HDEL', KEYS[2], dk) == 1 then
      changed = changed + 1
    end
    redis.call('ZREM', KEYS[1], dk)
    for j = 1, nidx do
      local old = redis.call('HGET', KEYS[3 + 2 * j], dk)
      if old then
        redis.call('ZREM', KEYS[2 + 2 * j], old)
        redis.call('HDEL', KEYS[3], old)
        redis.call('HDEL', KEYS[3 + 2 * j], dk)
      end
    end
    p = p + 2
  else
    for j = 1, nidx do
      local key = ARGV[p + 3 + 3 * (j - 1)]
      local old = redis.call('HGET', KEYS[3 + 2 * j], dk)
      if old and old ~= key then
        redis.call('ZREM', KEYS[2 + 2 * j], old)
        redis.call('HDEL', KEYS[3], old)
      end
      redis.call('ZADD', KEYS[2 + 2 * j], 0, key)
      redis.call('HSET', KEYS[3], key, dk)
      redis.call('HSET', KEYS[3 + 2 * j], dk, key)
    end
    redis.call('ZADD', KEYS[1], 0, dk)
    redis.call('HSET', KEYS[2], dk, ARGV[p + 2])
    changed = changed + 1
    p = p + 3 + 3 * nidx
  end
end
return {0, changed}
";

/// Sets the catalog if its version is still the one read.
///
/// KEYS: the catalog hash. ARGV: the version read ("" when there was no
/// catalog), the new catalog, the new version, the MAC key, the database id.
/// Returns 1 when set, 0 when another connection changed it first.
pub const CATALOG_CAS: &str = r"
local current = redis.call('HGET', KEYS[1], 'version')
if (current or '') ~= ARGV[1] then
  return 0
end
if ARGV[1] == '' then
  redis.call('HSET', KEYS[1], 'mac', ARGV[4], 'id', ARGV[5])
end
redis.call('HSET', KEYS[1], 'catalog', ARGV[2], 'version', ARGV[3])
return 1
";

/// Deletes keys of one shard (a dropped table's or index's) and the refs of
/// a dropped index's entries.
///
/// KEYS: the refs hash, then the keys to delete. ARGV: "1" when KEYS[2] is
/// an index set whose members' refs go too.
pub const DROP: &str = r"
if ARGV[1] == '1' then
  local members = redis.call('ZRANGE', KEYS[2], 0, -1)
  for i = 1, #members, 1000 do
    redis.call('HDEL', KEYS[1], unpack(members, i, math.min(i + 999, #members)))
  end
end
for i = 2, #KEYS do
  redis.call('DEL', KEYS[i])
end
return 1
";
