-- One floor operation on one push-to-talk channel, run atomically by Redis. It mirrors
-- sfu/src/floor.ts rule for rule (floor-store.test.ts replays random operations against
-- both); floor-store.ts explains epochs, deadlines and when channel options apply.
--
-- KEYS[1]  the channel's state: a JSON string
--          { epoch, maxTalkMs, queueing, holder?, queue = [{ participantId, priority, emergency }] }
--          holder = { participantId, priority, emergency, grantedAt, deadline?, epoch }
-- ARGV     op, now (ms), ttl (ms), then per op:
--          request  participantId, priority, emergency '1'|'0', maxTalkMs, queue '1'|'0'
--          release  participantId, epoch or ''
--          leave    participantId
--          expire / state  nothing
-- Returns  JSON { outcome, events, holder?, queue = [participantId] }

local op = ARGV[1]
local now = tonumber(ARGV[2])
local ttl = tonumber(ARGV[3])

local RANKS = { member = 0, lead = 1, dispatcher = 2 }
local function rank(entry)
  if entry.emergency then return 3 end
  return RANKS[entry.priority]
end

local raw = redis.call('GET', KEYS[1])
local s
if raw then
  s = cjson.decode(raw)
  -- cjson reads back an empty list written as {} as an empty table: the same thing here.
else
  s = { epoch = 0, maxTalkMs = 0, queueing = true, queue = {} }
end

local events = {}
local outcome = 'none'
local changed = false

local function remove_from_queue(participantId)
  for i, queued in ipairs(s.queue) do
    if queued.participantId == participantId then
      table.remove(s.queue, i)
      return true
    end
  end
  return false
end

local function grant(entry)
  s.epoch = s.epoch + 1
  local deadline = nil
  if s.maxTalkMs > 0 then deadline = now + s.maxTalkMs end
  s.holder = {
    participantId = entry.participantId,
    priority = entry.priority,
    emergency = entry.emergency,
    grantedAt = now,
    deadline = deadline,
    epoch = s.epoch,
  }
  events[#events + 1] = { type = 'floor.granted', holder = s.holder }
end

-- Inserts behind every entry of equal or higher rank; returns the 1-based position.
local function enqueue(entry)
  local r = rank(entry)
  local index = #s.queue + 1
  for i, queued in ipairs(s.queue) do
    if rank(queued) < r then
      index = i
      break
    end
  end
  table.insert(s.queue, index, entry)
  return index
end

local function finish(participantId, reason)
  changed = true
  local holder = s.holder
  if not holder or holder.participantId ~= participantId then
    if remove_from_queue(participantId) then
      events[#events + 1] = { type = 'floor.dequeued', participantId = participantId }
    end
    return
  end
  events[#events + 1] = {
    type = 'floor.ended', participantId = participantId, reason = reason, epoch = holder.epoch,
  }
  s.holder = nil
  local next_entry = table.remove(s.queue, 1)
  if next_entry then grant(next_entry) end
end

if op == 'request' then
  changed = true
  local entry = {
    participantId = ARGV[4],
    priority = ARGV[5],
    emergency = ARGV[6] == '1',
  }
  if RANKS[entry.priority] == nil then return redis.error_reply('unknown floor priority') end
  local holder = s.holder
  if holder and holder.participantId == entry.participantId then
    -- Escalation of an ongoing turn (e.g. a member declares an emergency while talking).
    if rank(entry) > rank(holder) then
      holder.priority = entry.priority
      holder.emergency = entry.emergency
    end
    outcome = 'granted'
  else
    -- Channel options change only while nobody holds or waits for the floor.
    if not holder and #s.queue == 0 then
      s.maxTalkMs = tonumber(ARGV[7])
      s.queueing = ARGV[8] == '1'
    end
    remove_from_queue(entry.participantId)
    if not holder then
      grant(entry)
      outcome = 'granted'
    elseif rank(entry) > rank(holder) then
      events[#events + 1] = {
        type = 'floor.ended',
        participantId = holder.participantId,
        reason = 'preempted',
        by = entry.participantId,
        epoch = holder.epoch,
      }
      grant(entry)
      outcome = 'granted'
    elseif not s.queueing then
      events[#events + 1] = {
        type = 'floor.denied', participantId = entry.participantId, reason = 'FLOOR_BUSY',
      }
      outcome = 'denied'
    else
      local position = enqueue(entry)
      events[#events + 1] = {
        type = 'floor.queued', participantId = entry.participantId, position = position,
      }
      outcome = 'queued'
    end
  end
elseif op == 'release' then
  local participantId = ARGV[4]
  local epoch = tonumber(ARGV[5])
  -- With an epoch only that very turn ends; a late release of an older one changes nothing.
  if epoch == nil
    or (s.holder and s.holder.participantId == participantId and s.holder.epoch == epoch) then
    finish(participantId, 'released')
  end
elseif op == 'leave' then
  finish(ARGV[4], 'left')
elseif op == 'expire' then
  -- Re-checked here, inside the atomic step, so racing timers on several nodes end it once.
  if s.holder and s.holder.deadline and now >= s.holder.deadline then
    finish(s.holder.participantId, 'expired')
  end
elseif op ~= 'state' then
  return redis.error_reply('unknown floor operation')
end

-- An operation on an unknown channel that leaves it empty (a stray release) stores nothing.
if changed and (raw or s.holder or #s.queue > 0) then
  redis.call('SET', KEYS[1], cjson.encode(s), 'PX', ttl)
end

local queue = {}
for i, queued in ipairs(s.queue) do queue[i] = queued.participantId end
return cjson.encode({ outcome = outcome, events = events, holder = s.holder, queue = queue })
