-- AppendAudit: the next audit seq and the entry stored under it, in one
-- step, so seqs have no gaps.
--
-- KEYS: counter, entries
-- ARGV: the entry's JSON object after its leading {"seq":0, (Go encodes
--       the entry with seq 0 and cuts that off; the seq is written here)
local seq = redis.call('INCR', KEYS[1])
local s = fmtseq(seq)
redis.call('HSET', KEYS[2], s, '{"seq":' .. s .. ',' .. ARGV[1])
return seq
