-- wrk script of the redemption benchmark (run.py starts wrk with it; see run.py for the command).
--
--   wrk -t T -c C -d 15s --timeout 30s -s redeem.lua http://127.0.0.1:PORT -- \
--       mode=redeem cards=FILE keys=FILE offers=ID,ID,... store=ID run=TAG
--
-- mode=redeem: every request is POST /api/v1/redemptions/ with a new Idempotency-Key (the run's tag,
-- the wrk thread and a counter of that thread: never the same twice), a card drawn at random from
-- the cards file the seed step wrote, an offer drawn from the list, and the next of the POS keys of the
-- keys file in turn, so the requests of every connection are spread over all the keys and no key's
-- rate limit is reached.
-- mode=healthz: GET /healthz, one request formatted once (wrk's fastest path).
--
-- done() prints one JSON line: requests, duration, status counts, socket errors and the latency
-- distribution (microseconds) that run.py reads.

local threads = {}

function setup(thread)
   thread:set("id", #threads)
   table.insert(threads, thread)
end

local function lines(path)
   local found = {}
   for line in io.lines(path) do
      if line ~= "" then
         table.insert(found, line)
      end
   end
   assert(#found > 0, path .. " is empty")
   return found
end

local function split(text)
   local found = {}
   for item in string.gmatch(text, "[^,]+") do
      table.insert(found, item)
   end
   return found
end

function init(args)
   local options = {}
   for _, arg in ipairs(args) do
      local name, value = string.match(arg, "^([%w_]+)=(.*)$")
      assert(name, "expected name=value, got " .. arg)
      options[name] = value
   end
   statuses = {}
   if options.mode == "healthz" then
      wrk.method = "GET"
      wrk.path = "/healthz"
      request = nil -- wrk then sends the one request it formats after init()
      return
   end
   assert(options.mode == "redeem", "mode must be redeem or healthz")
   cards = lines(options.cards)
   keys = lines(options.keys)
   offers = split(options.offers)
   store = options.store
   tag = options.run .. "-" .. id .. "-"
   counter = 0
   math.randomseed(tonumber(options.seed or "0") + 7919 * id)
end

function request()
   counter = counter + 1
   local body = '{"offer": ' .. offers[math.random(#offers)]
      .. ', "card_number": "' .. cards[math.random(#cards)]
      .. '", "store": ' .. store
      .. ', "amount": "45.00", "units": 1}'
   local headers = {
      ["Authorization"] = "Api-Key " .. keys[(counter + id) % #keys + 1],
      ["Idempotency-Key"] = tag .. counter,
      ["Content-Type"] = "application/json",
   }
   return wrk.format("POST", "/api/v1/redemptions/", headers, body)
end

function response(status, headers, body)
   statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
   local counts = {}
   for _, thread in ipairs(threads) do
      for status, count in pairs(thread:get("statuses")) do
         counts[status] = (counts[status] or 0) + count
      end
   end
   local parts = {}
   for status, count in pairs(counts) do
      table.insert(parts, string.format('"%d": %d', status, count))
   end
   local percentiles = {}
   for _, p in ipairs({50, 90, 99, 99.9}) do
      table.insert(percentiles, string.format('"%s": %d', tostring(p), latency:percentile(p)))
   end
   local errors = summary.errors
   io.write(string.format(
      '{"requests": %d, "duration_us": %d, "statuses": {%s}, "errors": {"connect": %d, "read": %d, '
         .. '"write": %d, "status": %d, "timeout": %d}, "latency_us": {"min": %d, "mean": %.1f, '
         .. '"max": %d, "percentiles": {%s}}}\n',
      summary.requests, summary.duration, table.concat(parts, ", "), errors.connect, errors.read,
      errors.write, errors.status, errors.timeout, latency.min, latency.mean, latency.max,
      table.concat(percentiles, ", ")
   ))
end
