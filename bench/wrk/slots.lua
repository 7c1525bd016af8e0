-- wrk script: list a store's free test-drive slots for a variant over 14 days, as a
-- buyer's page does, each request another store of the slice, round and round.
--
-- Each line of BENCH_TOKENS is "<store id>"; BENCH_PATH is
-- "/api/v1/launches/<slug>/stores/". See common.lua.

local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local bench = dofile(dir .. "common.lua")

local query = "sku=YU7-MAX&days=14"

function init(args)
   bench.load()
end

function request()
   local row = bench.take()
   return wrk.format("GET", bench.path .. row[1] .. "/test-drive-slots?" .. query)
end

function response(status, headers, body)
   bench.count(status)
end
