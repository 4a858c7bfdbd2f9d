-- Append: the compare-and-append at the heart of the store. The updates
-- go into the log, and the head moves, only if the head is the one the
-- caller expects; then the new head is published on the document's
-- channel, a wake-up for watchers (the log stays the truth).
--
-- KEYS: head, log, snapshot
-- ARGV: expected head, new head, channel, then seq and update JSON for
--       each update (the caller has numbered them expected+1, ...)
local head, answer = readhead(KEYS[1], KEYS[3])
if not head then
  return answer
end
if head ~= tonumber(ARGV[1]) then
  return {'conflict', fmtseq(head)}
end
for i = 4, #ARGV, 2 do
  redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1])
end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('PUBLISH', ARGV[3], ARGV[2])
return {'ok'}
