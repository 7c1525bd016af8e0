-- wrk script: POST an order per request, each from a distinct customer with its own
-- Idempotency-Key, as on launch night (no request is a retry of another).
--
-- Each line of BENCH_TOKENS is "<customer token> [<admission token>]" for customer
-- number n (its line, 0-based); the key is "k<n>". Fresh 201s are recorded by the
-- customer number in the answer, so bench/run.py can check every acknowledged order
-- against the database. See common.lua for the settings.

local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local bench = dofile(dir .. "common.lua")

local body = os.getenv("BENCH_BODY") or '{"sku":"YU7-MAX"}'
local headers = { ["Content-Type"] = "application/json" }

function init(args)
   bench.load()
end

function request()
   local row, n = bench.take()
   headers["Authorization"] = "Bearer " .. row[1]
   headers["Idempotency-Key"] = "k" .. n
   headers["Admission-Token"] = row[2]  -- nil (no header) without a waiting room
   return wrk.format("POST", bench.path, headers, body)
end

function response(status, headers, body)
   bench.count(status)
   if status == 201 then
      if headers["idempotent-replayed"] or headers["Idempotent-Replayed"] then
         replayed = replayed + 1
      else
         -- launchday answers with the order, which names its customer ("b-<n>");
         -- the baselines answer a constant without a number and record nothing here.
         local n = string.match(body, '"customer":"[^"]-(%d+)"')
         if n then
            acked[#acked + 1] = tonumber(n)
         end
      end
   end
end
