-- Append: the compare-and-append at the heart of the store. The updates
-- go into the log, and the head moves, only if the head is the one the
-- caller expects; then the new head is published on the document's
-- channel, a wake-up for watchers (the log stays the truth).
--
-- Turns: a writer whose append meets a version conflict takes the turn
-- (when no other writer holds it): for the next ttl milliseconds only
-- its append can succeed. Another writer expecting the current head is
-- answered 'busy' and waits for the turn-holder's append; one expecting
-- an older head is answered 'conflict' as ever, and reads what it
-- missed. So the writer that fell behind catches up on its next try
-- instead of meeting a newer append again and again, and no writer
-- starves the others.
--
-- KEYS: head, log, snapshot, turn
-- ARGV: expected head, new head, channel, writer, ttl in ms, then seq
--       and update JSON for each update (the caller has numbered them
--       expected+1, ...)
local head, answer = readhead(KEYS[1], KEYS[3])
if not head then
  return answer
end
local turn = redis.call('GET', KEYS[4])
if head ~= tonumber(ARGV[1]) then
  if not turn then
    redis.call('SET', KEYS[4], ARGV[4], 'PX', ARGV[5])
  end
  return {'conflict', fmtseq(head)}
end
if turn and turn ~= ARGV[4] then
  return {'busy'}
end
for i = 6, #ARGV, 2 do
  redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1])
end
redis.call('SET', KEYS[1], ARGV[2])
if turn then
  redis.call('DEL', KEYS[4])
end
redis.call('PUBLISH', ARGV[3], ARGV[2])
return {'ok'}
