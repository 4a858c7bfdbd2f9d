-- ReadUpdates: the updates after a seq, read at one moment with the head
-- and the log's start they are checked against.
--
-- KEYS: head, start, log, snapshot
-- ARGV: after, limit (<= 0: all)
-- Answers 'ok' followed by the entries in order, false for one missing.
local head, answer = readhead(KEYS[1], KEYS[4])
if not head then
  return answer
end
local after, limit = tonumber(ARGV[1]), tonumber(ARGV[2])
if after >= head then
  return {'ok'}
end
local first = seqof(redis.call('GET', KEYS[2]))
if not first then
  return {'corrupt', 'start', 'missing or not a seq'}
end
if after + 1 < first then
  return {'compacted', fmtseq(first)}
end
local last = head
if limit > 0 and after + limit < last then
  last = after + limit
end
local out = {'ok'}
local from = after + 1
while from <= last do
  local to = math.min(last, from + 999)
  local fields = {}
  for s = from, to do
    fields[#fields + 1] = fmtseq(s)
  end
  local vals = redis.call('HMGET', KEYS[3], unpack(fields))
  for i = 1, #fields do
    out[#out + 1] = vals[i]
  end
  from = to + 1
end
return out
