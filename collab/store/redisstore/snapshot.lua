-- PutSnapshot: replace the snapshot when the new one is newer, and drop
-- the log entries it covers but the newest keep of them. Everything is
-- checked before anything is written: Redis does not undo the writes of
-- a script that fails halfway.
--
-- KEYS: head, start, snapshot, info, log
-- ARGV: seq, keep (>= 0), snapshot JSON, listing entry JSON
local head, answer = readhead(KEYS[1], KEYS[3])
if not head then
  return answer
end
local seq = tonumber(ARGV[1])
local old = redis.call('HGET', KEYS[3], 'seq')
if not old then
  return {'corrupt', 'snapshot', 'missing'}
end
old = seqof(old)
if not old then
  return {'corrupt', 'snapshot', 'its seq is not a seq'}
end
if seq <= old then
  return {'ok'}
end
if seq > head then
  return {'conflict', fmtseq(head)}
end
local first = seqof(redis.call('GET', KEYS[2]))
if not first then
  return {'corrupt', 'start', 'missing or not a seq'}
end

redis.call('HSET', KEYS[3], 'seq', ARGV[1], 'doc', ARGV[3])
redis.call('SET', KEYS[4], ARGV[4])
local cut = seq - tonumber(ARGV[2]) -- entries up to cut go
if cut >= first then
  -- In batches: unpack has a limit on how many values it spreads.
  local batch = {}
  for s = first, cut do
    batch[#batch + 1] = fmtseq(s)
    if #batch == 1000 then
      redis.call('HDEL', KEYS[5], unpack(batch))
      batch = {}
    end
  end
  if #batch > 0 then
    redis.call('HDEL', KEYS[5], unpack(batch))
  end
  redis.call('SET', KEYS[2], fmtseq(cut + 1))
end
return {'ok'}
