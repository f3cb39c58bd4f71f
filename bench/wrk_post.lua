-- wrk script of `python -m bench` (used only when the shared harness is not there).
--
-- One static POST, configured from the environment:
--   BENCHCMD_BODY    the application/x-www-form-urlencoded body
--   BENCHCMD_AUTH    an Authorization header value ("" = none)
--   BENCHCMD_EXPECT  a substring every 200 answer must contain ("" = only the status is checked)
-- Prints one line "BENCHCMD_RESULT {json}" at the end (latencies in microseconds).

wrk.method = "POST"
wrk.body = os.getenv("BENCHCMD_BODY") or ""
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Accept"] = "application/json"
local authorization = os.getenv("BENCHCMD_AUTH") or ""
if #authorization > 0 then
  wrk.headers["Authorization"] = authorization
end
local expected = os.getenv("BENCHCMD_EXPECT") or ""

-- Each wrk thread runs its own copy of this script: these are per-thread counters.
answers = 0
unexpected = 0

function response(status, headers, body)
  answers = answers + 1
  if status ~= 200 or (#expected > 0 and not body:find(expected, 1, true)) then
    unexpected = unexpected + 1
  end
end

local all_threads = {}

function setup(thread)
  all_threads[#all_threads + 1] = thread
end

function done(summary, latency, requests)
  local answered, bad = 0, 0
  for _, thread in ipairs(all_threads) do
    answered = answered + thread:get("answers")
    bad = bad + thread:get("unexpected")
  end
  local errors = summary.errors
  local fields = {
    string.format('"duration_us":%d', summary.duration),
    string.format('"requests":%d', summary.requests),
    string.format('"answers":%d', answered),
    string.format('"unexpected":%d', bad),
    string.format('"socket_errors":%d', errors.connect + errors.read + errors.write + errors.timeout),
    string.format('"status_errors":%d', errors.status),
    string.format('"mean_us":%.1f', latency.mean),
    string.format('"max_us":%d', latency.max),
  }
  for _, p in ipairs({50, 90, 99}) do
    fields[#fields + 1] = string.format('"p%d_us":%d', p, latency:percentile(p))
  end
  io.write("BENCHCMD_RESULT {" .. table.concat(fields, ",") .. "}\n")
end
