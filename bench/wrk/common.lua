-- Shared by order.lua and poll.lua: each wrk thread takes its own slice of a
-- pre-minted token file, counts what the server answered, and done() writes one
-- JSON document that bench/run.py reads.
--
-- Settings come from the environment, because done() runs in wrk's main Lua state,
-- which never sees the script arguments that init() gets:
--   BENCH_TOKENS      the token file: one line per customer, space-separated fields
--   BENCH_FIRST       0-based line where this run's slice starts
--   BENCH_PER_THREAD  lines per wrk thread; thread k takes [first + k*per, first + (k+1)*per)
--   BENCH_PATH        the request path (poll.lua appends the ticket)
--   BENCH_OUT         where done() writes its JSON

local bench = {}

local first = tonumber(os.getenv("BENCH_FIRST") or "0")
local per_thread = tonumber(os.getenv("BENCH_PER_THREAD") or "0")
bench.path = os.getenv("BENCH_PATH") or "/"

-- setup() runs in the main state once per thread, before any init(): number the
-- threads so each takes a disjoint slice of the file.
local threads = {}

function setup(thread)
   thread:set("thread_index", #threads)
   table.insert(threads, thread)
end

-- Per-thread state (each wrk thread has its own Lua state). Counters are plain
-- globals and flat tables because done() copies them out of every thread with
-- thread:get(), and wrk 4.1 crashes copying a table nested in a table.
local rows = {}       -- the slice's lines, split into fields
local next_row = 1
lo = 0                -- line number of the slice's first row
sent = 0              -- requests generated: one per write (a reconnect writes again),
                      -- plus one wrk makes at start to check the script and never sends
answered = 0          -- responses received
wrapped = 0           -- times the slice ran out and started over
replayed = 0          -- 201s with Idempotent-Replayed: repeats of an earlier order
statuses = {}         -- status code (as text) -> count
acked = {}            -- customer numbers of fresh 201s (order.lua)

-- Read this thread's slice of the token file; called from init().
function bench.load()
   lo = first + (thread_index or 0) * per_thread
   local hi = lo + per_thread
   local n = 0
   for line in io.lines(os.getenv("BENCH_TOKENS")) do
      if n >= hi then break end
      if n >= lo then
         local fields = {}
         for field in string.gmatch(line, "%S+") do
            fields[#fields + 1] = field
         end
         rows[#rows + 1] = fields
      end
      n = n + 1
   end
   if #rows == 0 then
      error("no tokens in " .. tostring(os.getenv("BENCH_TOKENS")) .. " from line " .. lo)
   end
end

-- The next row and its line number; past the end of the slice it starts over and
-- counts the wrap, so bench/run.py can tell that a run needed more tokens.
function bench.take()
   if next_row > #rows then
      next_row = 1
      wrapped = wrapped + 1
   end
   local row = next_row
   next_row = row + 1
   sent = sent + 1
   return rows[row], lo + row - 1
end

function bench.count(status)
   answered = answered + 1
   local key = tostring(status)
   statuses[key] = (statuses[key] or 0) + 1
end

-- Minimal JSON for numbers, strings and tables (arrays when they have a [1]).
local function encode(value)
   local kind = type(value)
   if kind == "number" then
      return string.format("%.17g", value)
   elseif kind == "string" then
      return '"' .. value:gsub('[%c"\\]', function(c)
         return string.format("\\u%04x", c:byte())
      end) .. '"'
   elseif kind == "table" then
      local parts = {}
      if value[1] ~= nil or next(value) == nil then
         for i = 1, #value do
            parts[i] = encode(value[i])
         end
         return "[" .. table.concat(parts, ",") .. "]"
      end
      for key, item in pairs(value) do
         parts[#parts + 1] = encode(tostring(key)) .. ":" .. encode(item)
      end
      return "{" .. table.concat(parts, ",") .. "}"
   end
   return "null"
end

function done(summary, latency, requests)
   local per = {}
   for i, thread in ipairs(threads) do
      per[i] = {}
      for _, name in ipairs({ "lo", "sent", "answered", "wrapped", "replayed", "statuses", "acked" }) do
         per[i][name] = thread:get(name)
      end
   end
   local percentiles = {}
   for _, p in ipairs({ 50, 90, 99, 99.9 }) do
      percentiles[tostring(p)] = latency:percentile(p)
   end
   local result = {
      duration_us = summary.duration,
      requests = summary.requests,
      bytes = summary.bytes,
      errors = summary.errors,
      latency_us = {
         min = latency.min,
         mean = latency.mean,
         max = latency.max,
         percentiles = percentiles,
      },
      threads = per,
   }
   local out = assert(io.open(os.getenv("BENCH_OUT"), "w"))
   out:write(encode(result))
   out:close()
end

return bench
