-- CreateDocument: a new document's snapshot and listing entry, with an
-- empty log after its seq.
--
-- KEYS: head, start, snapshot, info
-- ARGV: seq, seq+1, snapshot JSON, listing entry JSON
if redis.call('EXISTS', KEYS[1], KEYS[3]) > 0 then
  return {'exists'}
end
redis.call('HSET', KEYS[3], 'seq', ARGV[1], 'doc', ARGV[3])
redis.call('SET', KEYS[4], ARGV[4])
redis.call('SET', KEYS[2], ARGV[2])
redis.call('SET', KEYS[1], ARGV[1])
return {'ok'}
