-- wrk script for bench/run.sh and bench/proxy.sh: POSTs one body (WRK_BODY; a form unless
-- WRK_CONTENT_TYPE says otherwise; WRK_METHOD=GET sends no body), with an optional Authorization
-- header (WRK_AUTH), and counts
-- every answer that is not a 2xx, or a 2xx whose body lacks WRK_EXPECT, so a run that "succeeds"
-- with errors or {"active":false} cannot pass as a result.
local method = os.getenv("WRK_METHOD")
if not method or method == "" then method = "POST" end
wrk.method = method
if method == "POST" then
  wrk.body = os.getenv("WRK_BODY") or ""
  local content_type = os.getenv("WRK_CONTENT_TYPE")
  if not content_type or content_type == "" then content_type = "application/x-www-form-urlencoded" end
  wrk.headers["Content-Type"] = content_type
end
local auth = os.getenv("WRK_AUTH")
if auth and auth ~= "" then wrk.headers["Authorization"] = auth end

dofile("bench/result.lua") -- threads, done()
function setup(thread) table.insert(threads, thread) end

function init(args)
  non2xx = 0
  unexpected = 0
  expect = os.getenv("WRK_EXPECT")
  if expect == "" then expect = nil end
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
  elseif expect and not string.find(body, expect, 1, true) then
    unexpected = unexpected + 1
  end
end
