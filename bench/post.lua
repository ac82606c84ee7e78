-- wrk script for bench/run.sh and bench/proxy.sh: POSTs one body (WRK_BODY; a form unless
-- WRK_CONTENT_TYPE says otherwise; WRK_METHOD=GET sends no body), with an optional Authorization
-- header (WRK_AUTH), and counts
-- every answer that is not a 2xx, or a 2xx whose body lacks WRK_EXPECT, so a run that "succeeds"
-- with errors or {"active":false} cannot pass as a result.
-- WRK_STATUS names the one status expected instead of any 2xx (304 for a conditional GET with
-- WRK_IF_NONE_MATCH): every other status counts as non2xx, and a 304 with a body as unexpected
-- (RFC 9110 §15.4.5: a 304 has none).
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
local if_none_match = os.getenv("WRK_IF_NONE_MATCH")
if if_none_match and if_none_match ~= "" then wrk.headers["If-None-Match"] = if_none_match end

dofile("bench/result.lua") -- threads, done()
function setup(thread) table.insert(threads, thread) end

function init(args)
  non2xx = 0
  unexpected = 0
  expect = os.getenv("WRK_EXPECT")
  if expect == "" then expect = nil end
  expect_status = tonumber(os.getenv("WRK_STATUS") or "")
end

function response(status, headers, body)
  if expect_status then
    if status ~= expect_status then
      non2xx = non2xx + 1
    elseif expect_status == 304 and body and #body > 0 then
      unexpected = unexpected + 1
    elseif expect and not string.find(body or "", expect, 1, true) then
      unexpected = unexpected + 1
    end
  elseif status < 200 or status > 299 then
    non2xx = non2xx + 1
  elseif expect and not string.find(body, expect, 1, true) then
    unexpected = unexpected + 1
  end
end
