-- Helpers put before every script of the package (Go joins the files
-- before hashing them): Redis runs each script as one chunk, so this is
-- how scripts share code.
--
-- A script answers a table whose first element says what happened: 'ok',
-- 'notfound', 'exists', 'conflict' (with the head), 'compacted' (with the
-- log's start) or 'corrupt' (with the record and why).

-- seqof returns the seq a stored value holds, or nil when it holds none:
-- decimal digits only, short enough to be exact in a Lua number.
local function seqof(v)
  if type(v) ~= 'string' or #v > 15 or not string.match(v, '^%-?%d+$') then
    return nil
  end
  return tonumber(v)
end

-- fmtseq writes a seq as Redis and Go read it: digits, never an exponent.
local function fmtseq(n)
  return string.format('%d', n)
end

-- readhead returns a document's head, or nil and the answer to give: the
-- head key marks that the document exists, so a missing head is
-- 'notfound' unless the snapshot is there.
local function readhead(headkey, snapkey)
  local v = redis.call('GET', headkey)
  if not v then
    if redis.call('EXISTS', snapkey) == 1 then
      return nil, {'corrupt', 'head', 'missing'}
    end
    return nil, {'notfound'}
  end
  local head = seqof(v)
  if not head then
    return nil, {'corrupt', 'head', 'not a seq'}
  end
  return head
end
